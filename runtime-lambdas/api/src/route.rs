//! Routing: method + path → [`Route`]. Paths are matched from the first `nodes` segment on, so a base path
//! mapping in front of the stage (`/v1/nodes/...`) does not matter; segments are percent-decoded.

use crate::error::ApiError;

/// The API's operations (see docs/backend-contract.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    ListNodes,
    GetNode(String),
    GetParams(String),
    GetReadings(String),
    PutParams(String),
    Bind,
    Unbind(String),
    Share(String),
    Unshare { node_id: String, user_id: String },
}

/// Match a request.
pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let no_route = || ApiError::not_found(format!("no route for {method} {path}"));
    let raw: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let start = raw.iter().position(|s| *s == "nodes").ok_or_else(no_route)?;
    let segs: Vec<String> = raw[start + 1..]
        .iter()
        .map(|s| percent_decode(s))
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::bad_request("bad percent-encoding in the path"))?;
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let id = |s: &str| s.to_string();
    Ok(match (method, segs.as_slice()) {
        ("GET", []) => Route::ListNodes,
        ("POST", ["bind"]) => Route::Bind,
        ("GET", [n]) => Route::GetNode(id(n)),
        ("DELETE", [n]) => Route::Unbind(id(n)),
        ("GET", [n, "params"]) => Route::GetParams(id(n)),
        ("PUT", [n, "params"]) => Route::PutParams(id(n)),
        ("GET", [n, "readings"]) => Route::GetReadings(id(n)),
        ("POST", [n, "shares"]) => Route::Share(id(n)),
        ("DELETE", [n, "shares", u]) => Route::Unshare { node_id: id(n), user_id: id(u) },
        _ => return Err(no_route()),
    })
}

/// Decode `%XX` escapes; `None` on a bad escape or invalid UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_contract_path() {
        let n = || "SN-1".to_string();
        assert_eq!(route("GET", "/nodes"), Ok(Route::ListNodes));
        assert_eq!(route("GET", "/nodes/"), Ok(Route::ListNodes));
        assert_eq!(route("POST", "/nodes/bind"), Ok(Route::Bind));
        assert_eq!(route("GET", "/nodes/SN-1"), Ok(Route::GetNode(n())));
        assert_eq!(route("DELETE", "/nodes/SN-1"), Ok(Route::Unbind(n())));
        assert_eq!(route("GET", "/nodes/SN-1/params"), Ok(Route::GetParams(n())));
        assert_eq!(route("PUT", "/nodes/SN-1/params"), Ok(Route::PutParams(n())));
        assert_eq!(route("GET", "/v1/nodes/SN-1/readings"), Ok(Route::GetReadings(n())));
        assert_eq!(route("PUT", "/nodes/SN-1/readings").unwrap_err().code, rainmaker_model::ErrorCode::NotFound);
        assert_eq!(route("POST", "/nodes/SN-1/shares"), Ok(Route::Share(n())));
        assert_eq!(
            route("DELETE", "/v1/nodes/SN%3A1/shares/u-2"),
            Ok(Route::Unshare { node_id: "SN:1".into(), user_id: "u-2".into() })
        );
    }

    #[test]
    fn unknown_routes_and_bad_escapes() {
        assert_eq!(route("PATCH", "/nodes/SN-1").unwrap_err().code, rainmaker_model::ErrorCode::NotFound);
        assert_eq!(route("GET", "/users").unwrap_err().code, rainmaker_model::ErrorCode::NotFound);
        assert_eq!(route("GET", "/nodes/a/b/c/d").unwrap_err().code, rainmaker_model::ErrorCode::NotFound);
        assert_eq!(route("GET", "/nodes/%zz").unwrap_err().code, rainmaker_model::ErrorCode::BadRequest);
        assert_eq!(percent_decode("a%2Fb"), Some("a/b".into()));
        assert_eq!(percent_decode("%"), None);
    }
}
