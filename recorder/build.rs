use std::process::Command;

fn main() {
    // Exposes `Py_3_x` cfgs so that version differences are decided at compile time, in
    // `cpython.rs`; one wheel is built per CPython version anyway.
    pyo3_build_config::use_pyo3_cfgs();
    let config = pyo3_build_config::get();
    // The layout of this CPython's structures, from its own headers (see layout.c).
    let python = config
        .executable
        .clone()
        .or_else(|| std::env::var("PYO3_PYTHON").ok())
        .unwrap_or_else(|| "python3".into());
    let output = Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['include'])",
        ])
        .output()
        .unwrap_or_else(|e| panic!("running {python} to find its headers: {e}"));
    assert!(
        output.status.success(),
        "{python} could not say where its headers are"
    );
    let include = String::from_utf8(output.stdout).expect("a UTF-8 include path");
    let include = include.trim();
    assert!(
        std::path::Path::new(include)
            .join("internal/pycore_pystate.h")
            .exists(),
        "{include} has no internal headers; callscope needs a CPython installed with them"
    );
    cc::Build::new()
        .file("src/layout.c")
        .include(include)
        .warnings(true)
        .compile("callscope_layout");
    println!("cargo:rerun-if-changed=src/layout.c");
    // A wheel without the viewer would fail at its first report: say so at install time.
    // The Python source is beside this crate in the repository, and beside its directory in
    // an sdist (maturin puts pyproject.toml at the sdist's top).
    let viewer = "python/callscope/viewer.html";
    let found = [viewer.to_owned(), format!("../{viewer}")]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    match found {
        // Only a file that exists is watched: a missing one would re-run this on every build.
        Some(path) => println!("cargo:rerun-if-changed={path}"),
        None if std::env::var_os("CARGO_FEATURE_WHEEL").is_some() => {
            eprintln!(
                "callscope's viewer is not built ({viewer} is missing): run `make viewer-template` \
                 in the repository first, or install a callscope wheel or sdist, which carry it"
            );
            std::process::exit(1);
        }
        None => {}
    }
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
