//! The fixed strategies (no learning).

use baton_core::{ActionId, AgentId};

use super::env::{Artifact, SUBMIT, SUBMIT_PROGRAM, TO_DEBUGGER, TO_OPTIMIZER, TO_SUBMIT, TO_TESTER, TO_WRITER};

/// The fixed pipeline of the issue: write, test, debug, test, optimize, test, submit, whatever the tests say.
/// Step `h` of the episode (handoffs so far) decides the next role.
pub fn fixed_pipeline(holder: AgentId, a: &Artifact) -> ActionId {
    const STEPS: [ActionId; 8] =
        [TO_WRITER, TO_TESTER, TO_DEBUGGER, TO_TESTER, TO_OPTIMIZER, TO_TESTER, TO_SUBMIT, SUBMIT_PROGRAM];
    match STEPS.get(a.handoffs as usize) {
        // The desk submits at the end; any other holder hands to the desk.
        Some(&SUBMIT_PROGRAM) | None if holder != SUBMIT => TO_SUBMIT,
        Some(&a) => a,
        None => SUBMIT_PROGRAM,
    }
}
