//! How a long run reports how far it has got (the binary draws a progress bar).

/// Something that wants to hear how far the run has got (a progress bar). Default: nothing.
pub trait Progress: Sync {
    /// `handoffs` more handoffs were simulated.
    fn advance(&self, _handoffs: u64) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}
