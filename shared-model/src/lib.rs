//! callscope's model: the session format, the call tree built from it, the processors that
//! make the tree readable, the views (timeline, flame graph, function table) and the
//! renderers. The recorder, the viewer and the terminal output all compute through here, so
//! the numbers a user sees are the same everywhere.
//!
//! ```
//! use callscope_model::{format, render, FunctionKind, Metadata, SessionBuilder};
//!
//! let mut b = SessionBuilder::new(Metadata { program: "app.py".into(), ..Metadata::default() });
//! let main = b.function("main", "app.py", 1, FunctionKind::Python);
//! let work = b.function("work", "app.py", 10, FunctionKind::Python);
//! let (f_main, f_work) = (b.frame(main, 3), b.frame(work, 12));
//! let stack = b.stack_from_frames([f_main, f_work]).unwrap();
//! let t = b.add_thread(1, Some(100), "MainThread", true);
//! b.push_sample(t, stack, 1000, 1000, Some(1000));
//! let session = b.finish();
//!
//! let bytes = format::callscope::encode(&session).unwrap();
//! let loaded = format::load(&bytes).unwrap();
//! assert_eq!(loaded, session);
//! let text = render::text::render(&loaded, &render::text::TextOptions::default());
//! assert!(text.contains("work"));
//! ```

pub mod combine;
pub mod error;
pub mod flame;
pub mod format;
pub mod functions;
pub mod ids;
pub mod invert;
pub mod library;
pub mod processors;
pub mod render;
pub mod report;
pub mod session;
pub mod timeline;
pub mod tree;

pub use error::{LoadError, SaveError};
pub use ids::{FrameId, FuncId, NodeId, StackId, StringId};
pub use session::{
    Counts, Frame, Function, FunctionKind, Metadata, Samples, Session, SessionBuilder, Stack,
    Thread, ThreadState,
};
