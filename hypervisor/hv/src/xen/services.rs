//! Hypervisor services a guest notifies through a hypervisor-bound event channel: its xenstore
//! ring and its console ring (consumer ids below).

/// Consumer ids given to `events::bind_hypervisor`.
pub const XENSTORE: u32 = 1;
pub const CONSOLE: u32 = 2;

/// A guest notified one of our services.
pub fn notify(dom: u16, port: u32, consumer: u32) {
    match consumer {
        XENSTORE => super::xenstore::on_event(dom),
        CONSOLE => super::console_ring::on_event(dom),
        _ => crate::println!("dom{dom}: notification on port {port} for no service ({consumer})"),
    }
}
