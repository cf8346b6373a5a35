fn main() {
    contrace_build::skeleton("unsharesnoop");
}
