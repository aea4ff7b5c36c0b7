//! Fetch stage: per-origin politeness shared by many processes. Where several
//! workers fetch for one store, each request also takes one of the origin's
//! `per_host` slots, and its turn (`host_delay` after the previous start), from
//! a [`HostLimits`] they all see (the PostgreSQL store's host tables); the
//! in-process limits of `hosts` still apply on top. This module only waits for
//! and frees such claims; where they are kept is the store's business.

use std::time::Duration;

use url::Url;

use super::FetchError;

/// The answer to one try at an origin's slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostClaim {
    /// Slot number n is held until released (or until the hold asked for ends).
    Granted(i32),
    /// Every slot is busy, or the origin's next turn is this far away.
    WaitFor(Duration),
}

/// Request slots and turns per origin, held where every worker sees them.
pub trait HostLimits: Send + Sync {
    /// Tries to take one of `origin`'s `per_host` slots, for at most `hold`,
    /// and its turn, after which the next start must wait `delay`.
    fn try_claim(&self, origin: &str, per_host: usize, delay: Duration, hold: Duration) -> Result<HostClaim, String>;

    /// Frees a slot taken by [`HostLimits::try_claim`].
    fn release(&self, origin: &str, slot: i32);
}

/// A held slot, freed when dropped.
pub(super) struct SharedSlot<'a> {
    limits: &'a dyn HostLimits,
    origin: String,
    slot: i32,
}

impl Drop for SharedSlot<'_> {
    fn drop(&mut self) {
        self.limits.release(&self.origin, self.slot);
    }
}

/// The longest pause between two tries: a freed slot is found this soon.
const POLL_AT_MOST: Duration = Duration::from_millis(100);

/// Waits for a slot of `url`'s origin and its turn; `hold` bounds how long the
/// slot stays taken if this process dies holding it.
pub(super) async fn wait_for_slot<'a>(
    limits: &'a dyn HostLimits,
    url: &Url,
    (per_host, delay): (usize, Duration),
    hold: Duration,
) -> Result<SharedSlot<'a>, FetchError> {
    let origin = url.origin().ascii_serialization();
    loop {
        match limits.try_claim(&origin, per_host, delay, hold) {
            Ok(HostClaim::Granted(slot)) => return Ok(SharedSlot { limits, origin, slot }),
            Ok(HostClaim::WaitFor(wait)) => {
                let pause = wait.clamp(Duration::from_millis(5), POLL_AT_MOST);
                tokio::time::sleep(pause.mul_f64(0.5 + super::retry::random_fraction() / 2.0)).await;
            }
            Err(reason) => return Err(FetchError::SharedLimits { url: url.clone(), reason }),
        }
    }
}
