fn main() {
    contrace_build::skeleton("conbiograph");
}
