//! The cap on a component's linear memory (not to be confused with the
//! log handle, [`Memory`](crate::Memory)).

/// wasmtime's [`StoreLimits`](wasmtime::StoreLimits), failing a refused
/// growth with [`CapReached`], so that the error can say what the cap was
/// instead of wasmtime's bare "forcing trap when growing memory".
pub(crate) struct LinearMemoryCap {
    limits: wasmtime::StoreLimits,
    cap: usize,
}

impl LinearMemoryCap {
    pub(crate) fn new(cap: usize) -> LinearMemoryCap {
        LinearMemoryCap {
            limits: wasmtime::StoreLimitsBuilder::new().memory_size(cap).build(),
            cap,
        }
    }
}

/// The trap of a growth past [`Options::max_guest_memory`](crate::Options);
/// its message comes from the component (`host-message`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CapReached {
    pub(crate) wanted: usize,
    pub(crate) cap: usize,
}

impl std::fmt::Display for CapReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only seen if the component cannot be asked for the message.
        write!(
            f,
            "linear memory of {} bytes asked for, over the cap of {} bytes",
            self.wanted, self.cap
        )
    }
}

impl std::error::Error for CapReached {}

impl wasmtime::ResourceLimiter for LinearMemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.limits.memory_growing(current, desired, maximum)? {
            // Trap rather than hand the guest a failed `memory.grow`: Rust's
            // allocator would abort with a less useful message anyway.
            return Err(wasmtime::Error::new(CapReached {
                wanted: desired,
                cap: self.cap,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}
