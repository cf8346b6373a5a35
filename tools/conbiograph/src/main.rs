//! conbiograph: under construction.

fn main() {
    eprintln!("conbiograph: not implemented yet");
    std::process::exit(1);
}
