//! Search: which functions a query matches. Case-insensitive, on the function's name or its
//! file, as a user types "parse" or "json/decoder".

use std::collections::HashSet;

use callscope_model::library::CodeInfo;
use callscope_model::{FuncId, Session};

pub struct Query {
    lower: String,
}

impl Query {
    pub fn new(text: &str) -> Self {
        Query {
            lower: text.trim().to_lowercase(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    pub fn matches(&self, name: &str, file: &str) -> bool {
        !self.is_empty()
            && (name.to_lowercase().contains(&self.lower)
                || file.to_lowercase().contains(&self.lower))
    }

    /// Every function of `session` the query matches (none for an empty query).
    pub fn functions(&self, session: &Session, code: &CodeInfo) -> HashSet<FuncId> {
        if self.is_empty() {
            return HashSet::new();
        }
        (0..session.functions.len())
            .map(FuncId::from_index)
            .filter(|&f| self.matches(session.function_name(f), code.short_file(f)))
            .collect()
    }
}
