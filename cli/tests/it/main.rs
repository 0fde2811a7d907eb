//! Integration tests of rainmaker-deploy: one test binary, one module per area.

mod support;
