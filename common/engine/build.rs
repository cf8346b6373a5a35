fn main() {
    contrace_build::skeleton("syscalls");
}
