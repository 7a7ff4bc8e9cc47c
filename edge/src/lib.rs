//! pg_observe's edge functions, compiled to WASM with wasm-bindgen and run by
//! Deno as Supabase Edge Functions. They share `pg_observe_core` with the
//! extension so that an event is validated, scrubbed and grouped the same way
//! whether it arrives over SQL or over HTTP.
//!
//! The functions themselves (health checks, Vercel and GitHub deploy
//! webhooks, Resend alert dispatch, the browser ingest endpoint) arrive with
//! the edge issue; this crate fixes where they live and how they build.
