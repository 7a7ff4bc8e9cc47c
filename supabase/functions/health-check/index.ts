// Supabase's entry point for health-check: serves its handler as is.
import handler from "./handler.ts";

Deno.serve(handler);
