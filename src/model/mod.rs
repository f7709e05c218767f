//! Classification heads: linear models over sparse features, written as ONNX
//! ([`onnx_graph`]) and run through ONNX Runtime (`runtime`, feature `onnx`).

pub mod onnx_graph;
#[cfg(feature = "onnx")]
pub mod runtime;
