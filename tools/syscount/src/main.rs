//! syscount: under construction.

fn main() {
    eprintln!("syscount: not implemented yet");
    std::process::exit(1);
}
