// The status function's request handler; Rust decides (edge/src), the shared
// runtime carries it out. scripts/functions.sh serves it with the others.
import { handlerFor } from "../_shared/runtime.ts";

export default handlerFor("status");
