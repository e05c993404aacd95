fn main() {
    callscope_viewer::start();
}
