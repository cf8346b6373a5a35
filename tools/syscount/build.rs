fn main() {
    contrace_build::skeleton("syscount");
}
