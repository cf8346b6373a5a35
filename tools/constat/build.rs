fn main() {
    contrace_build::skeleton("constat");
}
