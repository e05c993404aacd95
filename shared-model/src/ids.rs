//! Typed indices into a [`Session`](crate::Session)'s tables.
//!
//! Every table in a session is a plain vector and every cross-reference is an index into one
//! of them. Wrapping each index in its own type means a frame index can never be used where a
//! stack index is expected, while the on-disk form stays a bare integer (which is what keeps
//! a million-sample session a few megabytes).

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The position of the referenced row in its table.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The id of row `index`. Tables are limited to `u32::MAX` rows by the decoder.
            #[inline]
            pub fn from_index(index: usize) -> Self {
                debug_assert!(index <= u32::MAX as usize);
                Self(index as u32)
            }
        }
    };
}

typed_id!(
    /// A string in the session's string table: names and paths are stored once.
    StringId
);
typed_id!(
    /// A function (code object): qualified name, file and first line.
    FuncId
);
typed_id!(
    /// A function at one executing line.
    FrameId
);
typed_id!(
    /// A node of the stack prefix tree: a frame plus the stack that called it, so that one
    /// sample is one integer.
    StackId
);
typed_id!(
    /// A node of a [`CallTree`](crate::tree::CallTree).
    NodeId
);
