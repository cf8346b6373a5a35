//! unsharesnoop: under construction.

fn main() {
    eprintln!("unsharesnoop: not implemented yet");
    std::process::exit(1);
}
