// Supabase's entry point for status: serves its handler as is.
import handler from "./handler.ts";

Deno.serve(handler);
