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

/// An entry's prepared component, made once by whichever process needs it first.
pub(super) type PreparedOnce = OnceCell<Result<Arc<PreparedEntry>, String>>;
/// An entry's core function (`function.wat`, or a core `function.wasm`); `None` when the
/// entry is a component.
pub(super) type CoreOnce = OnceCell<Result<Option<Arc<CoreFunction>>, String>>;

pub(super) struct Loaded {
    pub registry: Arc<Registry>,
    pub prepared: Mutex<HashMap<EntryId, Arc<PreparedOnce>>>,
    pub core_functions: Mutex<HashMap<EntryId, Arc<CoreOnce>>>,
    /// Each function entry's pool: the bound on its concurrent and waiting calls.
    pub call_pools: Mutex<HashMap<EntryId, Arc<CallPool>>>,
}

impl Loaded {
    pub fn new(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            prepared: Mutex::default(),
            core_functions: Mutex::default(),
            call_pools: Mutex::default(),
        }
    }

    /// The next generation: `registry`, nothing compiled yet, and the call pools of the
    /// functions in `unchanged`, so calls in flight still count against their bound.
    pub fn next(&self, registry: Arc<Registry>, unchanged: &[&EntryId]) -> Self {
        let pools = self.call_pools.lock().unwrap();
        let carried = (unchanged.iter())
            .filter_map(|id| Some(((*id).clone(), pools.get(*id)?.clone())))
            .collect();
        Self {
            call_pools: Mutex::new(carried),
            ..Self::new(registry)
        }
    }
}
