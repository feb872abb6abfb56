//! Rendering results for people and programs. Nothing else in the crate formats tables;
//! comfy-table is used only here.

pub mod fixture;
