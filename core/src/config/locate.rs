//! Where each key of a YAML document is: dotted paths (`lambda.memory_mb`, `api.allowed_origins[1]`) to positions.

use serde_saphyr::granit_parser::{Event, Marker, Parser};

/// A position in the source: 1-based line and column, and a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

/// One mapping entry or sequence item: its path, where its key starts, where its value starts and ends.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub key: Pos,
    pub value: Pos,
    pub value_end: Pos,
}

enum Frame {
    Map { path: String, pending_key: Option<(String, Pos)> },
    Seq { path: String, index: usize },
}

fn pos(m: &Marker, source: &str) -> Pos {
    let offset =
        m.byte_offset().unwrap_or_else(|| source.char_indices().nth(m.index()).map_or(source.len(), |(i, _)| i));
    Pos { line: m.line(), column: m.col() + 1, offset }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Every entry of the first document, in document order. A syntax error ends the walk early (the YAML
/// deserializer reports syntax errors itself).
pub fn entries(source: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut open: Vec<usize> = Vec::new(); // indexes into `out` of entries whose value is a container
    for item in Parser::new_from_str(source) {
        let Ok((event, span)) = item else { break };
        let start = pos(&span.start, source);
        let end = pos(&span.end, source);
        // A node in value position: the path it gets, and whether this event is a key instead.
        let is_node =
            matches!(event, Event::Scalar(..) | Event::MappingStart(..) | Event::SequenceStart(..) | Event::Alias(..));
        let mut value_path: Option<(String, Pos)> = None;
        if is_node {
            match stack.last_mut() {
                Some(Frame::Map { path, pending_key }) => match pending_key.take() {
                    None => {
                        if let Event::Scalar(k, ..) = &event {
                            *pending_key = Some((join(path, k), start));
                            continue;
                        }
                        // complex keys are not addressed by path
                        *pending_key = Some((join(path, "?"), start));
                    }
                    Some((p, key_pos)) => value_path = Some((p, key_pos)),
                },
                Some(Frame::Seq { path, index }) => {
                    value_path = Some((format!("{path}[{index}]"), start));
                    *index += 1;
                }
                None => {}
            }
        }
        let here = value_path.as_ref().map(|(p, _)| p.clone()).unwrap_or_default();
        if let Some((path, key)) = value_path {
            out.push(Entry { path, key, value: start, value_end: end });
        }
        match event {
            Event::MappingStart(..) => {
                open.push(out.len().wrapping_sub(1));
                stack.push(Frame::Map { path: here, pending_key: None });
            }
            Event::SequenceStart(..) => {
                open.push(out.len().wrapping_sub(1));
                stack.push(Frame::Seq { path: here, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                if let Some(i) = open.pop() {
                    if let Some(e) = out.get_mut(i) {
                        e.value_end = end;
                    }
                }
            }
            Event::DocumentEnd => break,
            _ => {}
        }
    }
    out
}

/// The entry at `path`, if the document has it.
pub fn find<'a>(entries: &'a [Entry], path: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.path == path)
}

/// The path of the entry whose key (or sequence item) starts at `line`/`column`.
pub fn path_at(entries: &[Entry], line: usize, column: usize) -> Option<&str> {
    entries.iter().find(|e| e.key.line == line && e.key.column == column).map(|e| e.path.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "version: 1\nlambda:\n  memory_mb: 64\napi:\n  allowed_origins:\n    - a\n    - \"b\"\n";

    #[test]
    fn paths_lines_and_columns() {
        let es = entries(DOC);
        let m = find(&es, "lambda.memory_mb").expect("found");
        assert_eq!((m.key.line, m.key.column, m.value.line, m.value.column), (3, 3, 3, 14));
        assert_eq!(&DOC[m.value.offset..m.value.offset + 2], "64");
        let o = find(&es, "api.allowed_origins[1]").expect("found");
        assert_eq!((o.value.line, o.value.column), (7, 7));
        assert_eq!(path_at(&es, 3, 3), Some("lambda.memory_mb"));
        assert!(find(&es, "lambda.nope").is_none());
    }

    #[test]
    fn broken_yaml_gives_what_came_before() {
        let es = entries("a: 1\nb: [\n");
        assert!(find(&es, "a").is_some());
    }
}
