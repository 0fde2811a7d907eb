//! The factory list `serial,secret` (a header line, then one device a line), read as a stream and checked line by
//! line: the serial against `devices.claim_serial_pattern` and the thing-name rules, the secret against
//! [`rainmaker_model::device_secret::check_secret`]. Nothing here touches AWS; the secret is never echoed.

use rainmaker_model::contract::CLAIM_CLIENT_PREFIX;
use rainmaker_model::device_secret::{self, DeviceSecret};
use regex::Regex;
use std::collections::HashMap;
use std::io::BufRead;

/// The header line the file must start with.
pub const HEADER: &str = "serial,secret";
/// The longest serial (an IoT thing name is at most 128 characters).
pub const MAX_SERIAL_LEN: usize = 128;

/// One valid line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub serial: String,
    pub secret: DeviceSecret,
}

/// One problem of one line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// The serial rules of the tenant: its pattern (anchored, as the hook applies it).
#[derive(Debug, Clone)]
pub struct SerialRules {
    pattern_text: String,
    pattern: Option<Regex>,
}

impl SerialRules {
    /// `devices.claim_serial_pattern` (already validated with the config); empty accepts any thing name.
    pub fn new(pattern: &str) -> Result<SerialRules, regex::Error> {
        let p = pattern.trim();
        let compiled = if p.is_empty() {
            None
        } else {
            Some(Regex::new(&format!("^(?:{})$", p.trim_start_matches('^').trim_end_matches('$')))?)
        };
        Ok(SerialRules { pattern_text: pattern.to_string(), pattern: compiled })
    }

    /// Why `serial` would not be provisioned, if it would not.
    pub fn problem(&self, serial: &str) -> Option<String> {
        if serial.is_empty() {
            return Some("the serial is empty".into());
        }
        if serial.len() > MAX_SERIAL_LEN {
            return Some(format!("serial has {} characters; at most {MAX_SERIAL_LEN}", serial.len()));
        }
        if let Some(c) = serial.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))) {
            return Some(format!("serial {serial:?} has {c:?}; a thing name has only A-Z, a-z, 0-9, ':', '_' and '-'"));
        }
        if serial.starts_with(CLAIM_CLIENT_PREFIX) {
            return Some(format!(
                "serial {serial:?} starts with {CLAIM_CLIENT_PREFIX}, the claim connections' client-id namespace"
            ));
        }
        if self.pattern.as_ref().is_some_and(|r| !r.is_match(serial)) {
            return Some(format!(
                "serial {serial:?} does not match devices.claim_serial_pattern `{}`",
                self.pattern_text
            ));
        }
        None
    }
}

/// Reads the file line by line; [`Reader::next_record`] yields each valid record and collects problems.
pub struct Reader<R> {
    input: R,
    rules: SerialRules,
    line: usize,
    buf: String,
    seen: HashMap<String, usize>,
    pub problems: Vec<Problem>,
    /// Data lines read (blank lines not counted).
    pub lines: usize,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R, rules: SerialRules) -> Self {
        Reader { input, rules, line: 0, buf: String::new(), seen: HashMap::new(), problems: Vec::new(), lines: 0 }
    }

    fn problem(&mut self, message: String) {
        self.problems.push(Problem { line: self.line, message });
    }

    /// The next valid record; `Ok(None)` at the end. Invalid lines are recorded in `problems` and skipped; an
    /// I/O error (or a line that is not UTF-8) ends the reading.
    pub fn next_record(&mut self) -> std::io::Result<Option<Record>> {
        loop {
            self.buf.clear();
            if self.input.read_line(&mut self.buf)? == 0 {
                if self.line == 0 {
                    self.line = 1;
                    self.problem(format!("the file is empty; it must start with the header `{HEADER}`"));
                }
                return Ok(None);
            }
            self.line += 1;
            let text = self.buf.trim_end_matches(['\n', '\r']).to_string();
            if self.line == 1 {
                let header = text.trim_start_matches('\u{feff}').replace(' ', "");
                if !header.eq_ignore_ascii_case(HEADER) {
                    self.problem(format!("the first line must be the header `{HEADER}`"));
                }
                continue;
            }
            if text.trim().is_empty() {
                continue;
            }
            self.lines += 1;
            let fields: Vec<&str> = text.split(',').map(str::trim).collect();
            if fields.len() != 2 {
                self.problem(format!("expected 2 fields `serial,secret`, found {}", fields.len()));
                continue;
            }
            let (serial, secret) = (fields[0].to_string(), fields[1]);
            let mut bad = false;
            if let Some(p) = self.rules.problem(&serial) {
                self.problem(p);
                bad = true;
            }
            if let Err(p) = device_secret::check_secret(secret) {
                self.problem(format!(
                    "{p}; valid: {} to {} characters of {}",
                    device_secret::SECRET_MIN_LEN,
                    device_secret::SECRET_MAX_LEN,
                    device_secret::SECRET_CHARSET
                ));
                bad = true;
            }
            if let Some(first) = self.seen.get(&serial) {
                let m = format!("serial {serial:?} is also on line {first}; each serial once");
                self.problem(m);
                bad = true;
            } else if !serial.is_empty() {
                self.seen.insert(serial.clone(), self.line);
            }
            if !bad {
                return Ok(Some(Record { line: self.line, serial, secret: DeviceSecret::new(secret) }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<Record>, Vec<Problem>) {
        let mut r = Reader::new(text.as_bytes(), SerialRules::new("SN-[0-9]{6}").unwrap());
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec);
        }
        (out, r.problems)
    }

    const S1: &str = "k7Qw2mZ9xR4tY8uB3nV6pL1sD5fG0hJa";

    #[test]
    fn reads_valid_lines() {
        let (recs, problems) = read(&format!("serial,secret\r\nSN-000001,{S1}\r\n\nSN-000002 , {S1}\n"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            recs.iter().map(|r| (r.line, r.serial.as_str())).collect::<Vec<_>>(),
            [(2, "SN-000001"), (4, "SN-000002")]
        );
    }

    #[test]
    fn every_problem_names_its_line_and_never_the_secret() {
        let text = format!(
            "serial,secret\nSN-1,{S1}\nSN-000002,short!\nSN-000003\nSN-000004,{S1}\nSN-000004,{S1}\nrm-claim-1,{S1}\nSN 5,{S1}\n"
        );
        let (recs, problems) = read(&text);
        assert_eq!(recs.len(), 1);
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3, 4, 6, 7, 8]);
        assert!(problems.iter().all(|p| !p.message.contains(S1) && !p.message.contains("short!")), "{problems:?}");
        assert!(problems[1].message.contains("22 to 128 characters"), "{}", problems[1].message);
        assert!(problems[3].message.contains("also on line 5"), "{}", problems[3].message);
    }

    #[test]
    fn the_header_is_required() {
        let (_, p) = read(&format!("SN-000001,{S1}\n"));
        assert_eq!(p, [Problem { line: 1, message: "the first line must be the header `serial,secret`".into() }]);
        let (_, p) = read("");
        assert_eq!(p[0].line, 1);
        let (r, p) = read(&format!("\u{feff}Serial, Secret\nSN-000001,{S1}\n"));
        assert!(p.is_empty() && r.len() == 1, "a BOM and spaces in the header are fine");
    }
}
