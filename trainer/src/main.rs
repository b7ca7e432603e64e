//! `charm`: train, sample, evaluate and inspect character RNNs.
fn main() {
    std::process::exit(charm_trainer::cli::main());
}
