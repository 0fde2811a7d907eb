//! Names derived from the tenant name: stacks, tables, functions, rules, policies (see docs/backend-contract.md).

/// Every physical name a tenant's stacks use.
#[derive(Debug, Clone)]
pub struct Names {
    /// `rm-<tenant>`: prefix of resource names.
    pub prefix: String,
    /// `rm_<tenant with _>`: prefix of IoT topic rule names (which allow only [A-Za-z0-9_]).
    pub rule_prefix: String,
    pub backend_stack: String,
    pub bootstrap_stack: String,
    pub device_policy: String,
    pub claim_policy: String,
    /// `rm-<tenant>-claim-certificate`: the Secrets Manager secret holding the claim certificate (id, ARN, PEM and
    /// private key), created by `apply` outside the stacks (docs/deploy.md, "Claim certificate lifecycle").
    pub claim_secret: String,
    pub provisioning_template: String,
}

impl Names {
    pub fn new(tenant: &str) -> Self {
        let prefix = format!("rm-{tenant}");
        Names {
            rule_prefix: format!("rm_{}", tenant.replace('-', "_")),
            backend_stack: prefix.clone(),
            bootstrap_stack: format!("{prefix}-bootstrap"),
            device_policy: format!("{prefix}-device"),
            claim_policy: format!("{prefix}-claim"),
            claim_secret: format!("{prefix}-claim-certificate"),
            provisioning_template: format!("{prefix}-fleet"),
            prefix,
        }
    }

    /// A resource name: `rm-<tenant>-<suffix>`.
    pub fn resource(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.prefix)
    }

    /// A topic rule name: `rm_<tenant>_<suffix>`.
    pub fn rule(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.rule_prefix)
    }
}
