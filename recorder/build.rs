fn main() {
    // Exposes `Py_3_x` cfgs so that version differences are decided at compile time, in
    // `cpython.rs`; one wheel is built per CPython version anyway.
    pyo3_build_config::use_pyo3_cfgs();
}
