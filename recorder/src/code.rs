//! Code objects as the sampler copies them: name, file, first line and line table, read
//! once per code object and parsed here, so a frame's line comes from its instruction
//! offset without asking the interpreter.

/// A line table in the format of the CPython it was read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LineTable {
    /// 3.9 `co_lnotab`: (byte offset delta, signed line delta) pairs.
    Lnotab(Vec<u8>),
    /// 3.10 `co_linetable`: (byte length, signed line delta or -128 for none) pairs.
    Ranges(Vec<u8>),
    /// 3.11+ `co_linetable`: the location table of variable-length entries, each
    /// covering some code units (see CPython's `Objects/locations.md`).
    Locations(Vec<u8>),
    #[default]
    Missing,
}

/// A code object the sampler has seen, described once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeEntry {
    /// The qualified name where the version has one (3.11+), else the plain name.
    pub name: String,
    pub file: String,
    pub first_line: u32,
    /// The function assigns `__tracebackhide__`, which pyinstrument's users use to hide
    /// helper frames; pyinstrument checks the frame's locals, the variable name is enough.
    pub tracebackhide: bool,
    pub lines: LineTable,
    /// Bytes of bytecode (3.11+, where frames point into it), 0 when not known.
    pub code_len: u32,
}

impl CodeEntry {
    /// The line being run at byte offset `offset` into the bytecode; the first line when
    /// the table has no answer (a frame that has not started yet, a synthetic location).
    pub fn line(&self, offset: i32) -> u32 {
        if offset < 0 {
            return self.first_line;
        }
        self.lines
            .line(self.first_line, offset as u32)
            .unwrap_or(self.first_line)
    }
}

impl LineTable {
    pub fn line(&self, first_line: u32, offset: u32) -> Option<u32> {
        let first = first_line as i64;
        let line = match self {
            LineTable::Lnotab(t) => lnotab_line(t, first, offset as i64),
            LineTable::Ranges(t) => ranges_line(t, first, offset as i64),
            LineTable::Locations(t) => locations_line(t, first, offset as i64 / 2),
            LineTable::Missing => None,
        }?;
        u32::try_from(line).ok().filter(|&l| l > 0)
    }
}

/// CPython 3.9's `PyCode_Addr2Line`.
fn lnotab_line(table: &[u8], first: i64, offset: i64) -> Option<i64> {
    let mut line = first;
    let mut addr = 0i64;
    for pair in table.chunks_exact(2) {
        addr += pair[0] as i64;
        if addr > offset {
            break;
        }
        line += pair[1] as i8 as i64;
    }
    Some(line)
}

/// CPython 3.10's address ranges: each pair covers `pair[0]` bytes; a line delta of -128
/// means the range has no line.
fn ranges_line(table: &[u8], first: i64, offset: i64) -> Option<i64> {
    let mut line = first;
    let mut end = 0i64;
    for pair in table.chunks_exact(2) {
        let start = end;
        end += pair[0] as i64;
        let delta = pair[1] as i8;
        let this = if delta == -128 {
            None
        } else {
            line += delta as i64;
            Some(line)
        };
        if start <= offset && offset < end {
            return this;
        }
    }
    None
}

/// CPython 3.11+'s location table; `unit` is the offset in 2-byte code units.
fn locations_line(table: &[u8], first: i64, unit: i64) -> Option<i64> {
    let mut bytes = table.iter().copied();
    let mut line = first;
    let mut addr = 0i64;
    while let Some(head) = bytes.next() {
        if head & 0x80 == 0 {
            return None;
        }
        let code = (head >> 3) & 0x0f;
        let length = (head & 0x07) as i64 + 1;
        let this = match code {
            15 => None,
            14 => {
                line += svarint(&mut bytes)?;
                for _ in 0..3 {
                    varint(&mut bytes)?;
                }
                Some(line)
            }
            13 => {
                line += svarint(&mut bytes)?;
                Some(line)
            }
            10..=12 => {
                line += (code - 10) as i64;
                bytes.next()?;
                bytes.next()?;
                Some(line)
            }
            _ => {
                bytes.next()?;
                Some(line)
            }
        };
        if addr <= unit && unit < addr + length {
            return this;
        }
        addr += length;
    }
    None
}

fn varint(bytes: &mut impl Iterator<Item = u8>) -> Option<i64> {
    let mut b = bytes.next()?;
    let mut value = (b & 63) as i64;
    let mut shift = 0;
    while b & 64 != 0 {
        b = bytes.next()?;
        shift += 6;
        if shift > 60 {
            return None;
        }
        value |= ((b & 63) as i64) << shift;
    }
    Some(value)
}

fn svarint(bytes: &mut impl Iterator<Item = u8>) -> Option<i64> {
    let v = varint(bytes)?;
    Some(if v & 1 != 0 { -(v >> 1) } else { v >> 1 })
}

/// `main.<locals>.helper` → `helper`; `main.<locals>.Local.method` → `Local.method`, as
/// pyinstrument shows nested functions by their own name.
pub fn without_locals_prefix(qualname: &str) -> &str {
    match qualname.rfind("<locals>.") {
        Some(i) => &qualname[i + "<locals>.".len()..],
        None => qualname,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_names_drop_their_enclosing_function() {
        assert_eq!(
            without_locals_prefix("main.<locals>.<listcomp>"),
            "<listcomp>"
        );
        assert_eq!(without_locals_prefix("a.<locals>.B.<locals>.c"), "c");
        assert_eq!(without_locals_prefix("a.<locals>.Local.m"), "Local.m");
        assert_eq!(without_locals_prefix("Parser.parse"), "Parser.parse");
    }

    #[test]
    fn lnotab_lines() {
        // Bytes 0-5 line 10, 6-9 line 12, from 10 on line 11.
        let t = LineTable::Lnotab(vec![6, 2, 4, 0xff]);
        assert_eq!(t.line(10, 0), Some(10));
        assert_eq!(t.line(10, 5), Some(10));
        assert_eq!(t.line(10, 6), Some(12));
        assert_eq!(t.line(10, 40), Some(11));
    }

    #[test]
    fn range_lines_with_a_gap() {
        // Bytes 0-3 line 5, 4-7 no line, 8-11 line 7.
        let t = LineTable::Ranges(vec![4, 0, 4, 0x80, 4, 2]);
        assert_eq!(t.line(5, 2), Some(5));
        assert_eq!(t.line(5, 5), None);
        assert_eq!(t.line(5, 8), Some(7));
        assert_eq!(t.line(5, 12), None);
    }

    #[test]
    fn location_lines_of_each_entry_form() {
        let t = LineTable::Locations(vec![
            0x80 | (13 << 3), // 1 unit, no columns, line += 0
            0x00,
            0x80 | (11 << 3) | 1, // 2 units, one-line form, line += 1
            4,
            9,
            0x80 | (14 << 3), // 1 unit, long form, line -= 3 (svarint 7)
            7,
            0,
            1,
            1,
            0x80 | (15 << 3),    // 1 unit, no location
            0x80 | (2 << 3) | 2, // 3 units, short form, same line
            5,
        ]);
        let lines: Vec<Option<u32>> = (0..9).map(|u| t.line(20, u * 2)).collect();
        assert_eq!(
            lines,
            [
                Some(20),
                Some(21),
                Some(21),
                Some(18),
                None,
                Some(18),
                Some(18),
                Some(18),
                None
            ]
        );
    }

    #[test]
    fn damaged_tables_give_no_line_rather_than_panicking() {
        assert_eq!(LineTable::Locations(vec![0x7f]).line(1, 0), None);
        assert_eq!(
            LineTable::Locations(vec![0x80 | (14 << 3)]).line(1, 0),
            None
        );
        assert_eq!(
            LineTable::Locations(vec![0x80 | (13 << 3), 0xff]).line(1, 0),
            None
        );
        let entry = CodeEntry {
            first_line: 3,
            ..CodeEntry::default()
        };
        assert_eq!(entry.line(-1), 3);
        assert_eq!(entry.line(10), 3);
    }
}
