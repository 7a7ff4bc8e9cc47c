// Supabase's entry point for ingest: serves its handler as is.
import handler from "./handler.ts";

Deno.serve(handler);
