// Supabase's entry point for alert-dispatch: serves its handler as is.
import handler from "./handler.ts";

Deno.serve(handler);
