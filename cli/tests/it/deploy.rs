//! Deploy lifecycle tests: against moto through the real SDK (`moto`), and replayed real-AWS responses (`replay`).

mod fixtures;
mod moto;
mod replay;
