//! Errors of the pricing engine: bad user input (usage files, templates, flags) carries a `rainmaker::usage::*`
//! code so the CLI exits with 2.

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum CostError {
    #[error("reading {path}: {message}")]
    #[diagnostic(code(rainmaker::usage::read), help("check the path given to --usage, --template or --compare"))]
    Read { path: String, message: String },

    #[error("{file}: not a valid usage file: {message}")]
    #[diagnostic(
        code(rainmaker::usage::parse),
        help("usage files are YAML with `version: 1`; blueprints/*/usage.yaml are commented examples and docs/estimate.md lists every key")
    )]
    UsageParse { file: String, message: String },

    #[error("{file}: usage file version {found} is not supported: this version reads version 1")]
    #[diagnostic(code(rainmaker::usage::version), help("set `version: 1`"))]
    UsageVersion { file: String, found: u32 },

    #[error("{file}: unknown usage key `{key}` for {scope}")]
    #[diagnostic(code(rainmaker::usage::unknown_key), help("valid keys for {scope}: {valid}"))]
    UnknownUsageKey { file: String, scope: String, key: String, valid: String },

    #[error("{file}: usage key `{key}` of {scope} is {value}: it must be a finite number, zero or more")]
    #[diagnostic(code(rainmaker::usage::bad_value), help("give a plain number such as 0, 12 or 0.5"))]
    BadValue { file: String, scope: String, key: String, value: String },

    #[error("{file}: usage key `{key}` of {scope} is {value}: it must be between {min} and {max} ({why})")]
    #[diagnostic(code(rainmaker::usage::out_of_range), help("set `{scope}.{key}` to a number in {min}..={max}"))]
    OutOfRange { file: String, scope: String, key: String, value: String, min: f64, max: f64, why: String },

    #[error("{file}: resource_usage names `{id}`, which is not a resource of the template")]
    #[diagnostic(code(rainmaker::usage::unknown_resource), help("logical ids in the template: {known}"))]
    UnknownResource { file: String, id: String, known: String },

    #[error("{file}: resource_type_default_usage names `{type_name}`, which has no usage keys")]
    #[diagnostic(code(rainmaker::usage::unknown_type), help("types with usage keys: {known}"))]
    UnknownType { file: String, type_name: String, known: String },

    #[error("{file}: not a CloudFormation template: {message}")]
    #[diagnostic(
        code(rainmaker::usage::template),
        help("give a CloudFormation template in JSON or YAML with a `Resources` mapping")
    )]
    Template { file: String, message: String },

    #[error("{file}:{line}: the short-form tag `{tag}` followed by a block is not supported")]
    #[diagnostic(
        code(rainmaker::usage::short_tag),
        help("write it in long form (`Fn::If:` ...) or convert the whole template to JSON first, e.g. `cfn-flip -j template.yaml > template.json`")
    )]
    ShortTag { file: String, line: usize, tag: String },

    #[error("no price table for region `{region}`")]
    #[diagnostic(code(rainmaker::usage::region), help("regions with an embedded price table: {available}"))]
    UnknownRegion { region: String, available: String },

    #[error("no device count: give --devices N (or --sweep N,N,...)")]
    #[diagnostic(
        code(rainmaker::usage::devices),
        help("e.g. `rainmaker-deploy estimate --devices 3600000`, or set `devices:` in the usage file")
    )]
    NoDevices,

    #[error("the embedded price table is invalid: {0}")]
    #[diagnostic(code(rainmaker::cost::prices))]
    PriceTable(String),

    #[error("{file}: not an AWS Price List bulk file: {message}")]
    #[diagnostic(
        code(rainmaker::usage::price_list),
        help("give the offer file (JSON with `products` and `terms.OnDemand`) of one service")
    )]
    PriceList { file: String, message: String },
}
