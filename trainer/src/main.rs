//! `charm`: train, sample, evaluate and inspect character RNNs.

/// The system allocator, ending charm with one `error:` line where it fails.
#[global_allocator]
static ALLOCATOR: charm_trainer::cli::out_of_memory::ExitOnOutOfMemory =
    charm_trainer::cli::out_of_memory::ExitOnOutOfMemory;

fn main() {
    std::process::exit(charm_trainer::cli::main());
}
