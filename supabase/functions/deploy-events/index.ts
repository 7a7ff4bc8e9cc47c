// Supabase's entry point for deploy-events: serves its handler as is.
import handler from "./handler.ts";

Deno.serve(handler);
