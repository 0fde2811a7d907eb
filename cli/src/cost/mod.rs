//! Pricing engine (being built: see issue 3).
