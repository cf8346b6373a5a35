fn main() {
    contrace_build::skeleton("benchfloor");
}
