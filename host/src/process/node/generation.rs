//! One generation of the registry a node serves, with what the node made of its entries:
//! compiled components, core functions, call pools. A reload makes a new generation beside
//! the old one and swaps it in whole; a process that started keeps the code it started with
//! (it holds its prepared component), and the old generation goes when nothing holds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::engine::{CoreFunction, PreparedEntry};
use crate::process::call_pool::CallPool;
use crate::registry::{EntryId, Registry};

/// What was made of each entry, made once by whichever process needs it first.
pub(super) type Cells<T> = Mutex<HashMap<EntryId, Arc<OnceCell<Result<T, String>>>>>;

pub struct Generation {
    pub(super) registry: Arc<Registry>,
    pub(super) prepared: Cells<Arc<PreparedEntry>>,
    /// Core functions (`function.wat`, or a core `function.wasm`); `None` for a component.
    pub(super) core_functions: Cells<Option<Arc<CoreFunction>>>,
    /// Each function entry's pool: the bound on its concurrent and waiting calls.
    pub(super) call_pools: Mutex<HashMap<EntryId, Arc<CallPool>>>,
}

impl Generation {
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub(super) fn new(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            prepared: Mutex::default(),
            core_functions: Mutex::default(),
            call_pools: Mutex::default(),
        }
    }

    /// The next generation: `registry`, with what was made of the entries in `unchanged`
    /// (their compiled code, and their call pools, so calls in flight still count against
    /// their bound); the others are compiled afresh.
    pub(super) fn next(&self, registry: Arc<Registry>, unchanged: &[&EntryId]) -> Self {
        Self {
            registry,
            prepared: Mutex::new(carried(&self.prepared, unchanged)),
            core_functions: Mutex::new(carried(&self.core_functions, unchanged)),
            call_pools: Mutex::new(carried(&self.call_pools, unchanged)),
        }
    }
}

fn carried<T>(
    cells: &Mutex<HashMap<EntryId, Arc<T>>>,
    ids: &[&EntryId],
) -> HashMap<EntryId, Arc<T>> {
    let cells = cells.lock().unwrap();
    (ids.iter())
        .filter_map(|id| Some(((*id).clone(), cells.get(*id)?.clone())))
        .collect()
}
