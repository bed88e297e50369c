//! A client of the QEMU Machine Protocol over a unix socket.
//!
//! QMP is one JSON object per line. After the greeting and `qmp_capabilities`, each command gets
//! exactly one reply (`return` or `error`) carrying the `id` we sent; asynchronous events
//! (`{"event": ...}`) may arrive in between at any time: they are kept, in order, for
//! [`Qmp::events`] and [`Qmp::wait_event`].

use std::fmt;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

/// How long a command may take to be answered.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// An error reply of QEMU to a command.
#[derive(Debug, Clone)]
pub struct QmpError {
    pub command: String,
    pub class: String,
    pub desc: String,
}

impl fmt::Display for QmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QMP command {} failed: {}: {}", self.command, self.class, self.desc)
    }
}

impl std::error::Error for QmpError {}

/// The file format of a screen dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Ppm,
}

/// A QMP session.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Bytes of a line not yet complete when a read timed out.
    partial: Vec<u8>,
    greeting: Value,
    events: Vec<Value>,
    next_id: u64,
}

impl Qmp {
    /// Connects to the socket at `path` (once: the caller retries while QEMU starts).
    pub fn connect(path: &Path) -> Result<Qmp> {
        let stream = UnixStream::connect(path)
            .with_context(|| format!("connecting to QMP at {}", path.display()))?;
        Qmp::handshake(stream)
    }

    /// Reads the greeting and leaves capabilities negotiation mode.
    pub fn handshake(stream: UnixStream) -> Result<Qmp> {
        let writer = stream.try_clone().context("cloning the QMP socket")?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            partial: Vec::new(),
            greeting: Value::Null,
            events: Vec::new(),
            next_id: 1,
        };
        let greeting = qmp.read_message(Instant::now() + REPLY_TIMEOUT).context("QMP greeting")?;
        if greeting.get("QMP").is_none() {
            bail!("unexpected QMP greeting: {greeting}");
        }
        qmp.greeting = greeting;
        qmp.execute("qmp_capabilities", Value::Null)?;
        Ok(qmp)
    }

    /// The greeting (QEMU version and capabilities).
    pub fn greeting(&self) -> &Value {
        &self.greeting
    }

    /// Runs `command` with `arguments` (an object, or `Value::Null` for none) and returns its
    /// `return` value. An error reply becomes a [`QmpError`].
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({ "execute": command, "id": id });
        if !arguments.is_null() {
            request["arguments"] = arguments;
        }
        self.write_message(&request).with_context(|| format!("sending QMP command {command}"))?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let message = self
                .read_message(deadline)
                .with_context(|| format!("waiting for the reply to QMP command {command}"))?;
            if message.get("event").is_some() {
                self.events.push(message);
                continue;
            }
            if message.get("id") != Some(&json!(id)) {
                bail!("QMP reply to {command} with an unexpected id: {message}");
            }
            if let Some(value) = message.get("return") {
                return Ok(value.clone());
            }
            let error = message.get("error").ok_or_else(|| anyhow!("odd QMP reply: {message}"))?;
            let field =
                |name: &str| error.get(name).and_then(Value::as_str).unwrap_or("?").to_owned();
            return Err(QmpError {
                command: command.to_owned(),
                class: field("class"),
                desc: field("desc"),
            }
            .into());
        }
    }

    /// The asynchronous events received so far and not yet taken, oldest first.
    pub fn events(&self) -> &[Value] {
        &self.events
    }

    /// Removes and returns the events received so far.
    pub fn take_events(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.events)
    }

    /// Waits for event `name` (e.g. `SHUTDOWN`), received already or to come; removes and returns
    /// the first one.
    pub fn wait_event(&mut self, name: &str, timeout: Duration) -> Result<Value> {
        let is_it = |event: &Value| event.get("event").and_then(Value::as_str) == Some(name);
        if let Some(index) = self.events.iter().position(is_it) {
            return Ok(self.events.remove(index));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let message = self
                .read_message(deadline)
                .with_context(|| format!("waiting for QMP event {name}"))?;
            if is_it(&message) {
                return Ok(message);
            }
            if message.get("event").is_some() {
                self.events.push(message);
            }
        }
    }

    /// Presses and releases the key `qcode` (QEMU's names: `esc`, `backspace`, `ret`, `spc`,
    /// `up`, `a`, ...) on the default keyboard.
    pub fn send_key(&mut self, qcode: &str) -> Result<()> {
        self.press_and_release(None, qcode)
    }

    /// Like [`send_key`](Self::send_key), routed to the console of the display device with id
    /// `device` (QMP `input-send-event` routes by display, then to that console's input).
    pub fn send_key_to(&mut self, device: &str, qcode: &str) -> Result<()> {
        self.press_and_release(Some(device), qcode)
    }

    fn press_and_release(&mut self, device: Option<&str>, qcode: &str) -> Result<()> {
        for down in [true, false] {
            let event = json!({
                "type": "key",
                "data": { "down": down, "key": { "type": "qcode", "data": qcode } },
            });
            let mut arguments = json!({ "events": [event] });
            if let Some(device) = device {
                arguments["device"] = json!(device);
            }
            self.execute("input-send-event", arguments)?;
        }
        Ok(())
    }

    /// Writes the screen to `path`: PNG when this QEMU can, else PPM. Returns the format written.
    pub fn screendump(&mut self, path: &Path) -> Result<ImageFormat> {
        let filename = path.to_str().context("screen dump path is not UTF-8")?;
        match self.execute("screendump", json!({ "filename": filename, "format": "png" })) {
            Ok(_) => Ok(ImageFormat::Png),
            Err(error) if png_unsupported(&error) => {
                self.execute("screendump", json!({ "filename": filename }))?;
                Ok(ImageFormat::Ppm)
            }
            Err(error) => Err(error),
        }
    }

    /// Asks QEMU to quit. QEMU may close the connection before it replies, which is fine.
    pub fn quit(&mut self) -> Result<()> {
        match self.execute("quit", Value::Null) {
            Ok(_) => Ok(()),
            Err(error) if error.downcast_ref::<QmpError>().is_none() && is_disconnect(&error) => {
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    fn write_message(&mut self, message: &Value) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(message).expect("a JSON value serialises");
        line.push(b'\n');
        self.writer.write_all(&line)
    }

    /// Reads one JSON message, waiting until `deadline`.
    fn read_message(&mut self, deadline: Instant) -> Result<Value> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                bail!("no QMP message in time");
            }
            self.reader.get_ref().set_read_timeout(Some(deadline - now))?;
            match self.reader.read_until(b'\n', &mut self.partial) {
                Ok(0) => bail!(Disconnected),
                Ok(_) if self.partial.ends_with(b"\n") => {
                    let line = std::mem::take(&mut self.partial);
                    return serde_json::from_slice(&line).with_context(|| {
                        format!("malformed QMP message {:?}", String::from_utf8_lossy(&line))
                    });
                }
                Ok(_) => bail!(Disconnected), // EOF in the middle of a line
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if is_disconnect_kind(e.kind()) => bail!(Disconnected),
                Err(e) => return Err(e).context("reading from QMP"),
            }
        }
    }
}

/// QEMU closed the QMP connection.
#[derive(Debug)]
struct Disconnected;

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QMP connection closed by QEMU")
    }
}

impl std::error::Error for Disconnected {}

fn is_disconnect(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<Disconnected>()
            || cause.downcast_ref::<std::io::Error>().is_some_and(|e| is_disconnect_kind(e.kind()))
    })
}

fn is_disconnect_kind(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof)
}

/// Whether a screendump error says that PNG is not available (QEMU without libpng, or older
/// than the `format` argument).
fn png_unsupported(error: &anyhow::Error) -> bool {
    error.downcast_ref::<QmpError>().is_some_and(|e| {
        let desc = e.desc.to_lowercase();
        desc.contains("png") || desc.contains("format")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::JoinHandle;

    /// A fake QEMU: sends the greeting, then answers each request with `respond`, which returns
    /// the lines to send (events and replies). Returns the requests it received.
    fn fake_qemu(
        respond: impl Fn(&Value) -> Vec<Value> + Send + 'static,
    ) -> (Qmp, JoinHandle<Vec<Value>>) {
        let (client, server) = UnixStream::pair().unwrap();
        let thread = std::thread::spawn(move || {
            let mut writer = server.try_clone().unwrap();
            let mut send = |message: &Value| writeln!(writer, "{message}\r").unwrap();
            send(&json!({ "QMP": { "version": {}, "capabilities": [] } }));
            let mut requests = Vec::new();
            for line in BufReader::new(server).lines() {
                let request: Value = serde_json::from_str(&line.unwrap()).unwrap();
                for message in respond(&request) {
                    send(&message);
                }
                requests.push(request);
            }
            requests
        });
        (Qmp::handshake(client).unwrap(), thread)
    }

    fn ok(request: &Value, value: Value) -> Value {
        json!({ "return": value, "id": request["id"] })
    }

    fn error(request: &Value, class: &str, desc: &str) -> Value {
        json!({ "error": { "class": class, "desc": desc }, "id": request["id"] })
    }

    fn event(name: &str) -> Value {
        json!({ "event": name, "data": {}, "timestamp": { "seconds": 1, "microseconds": 2 } })
    }

    #[test]
    fn events_between_replies_are_kept() {
        let (mut qmp, server) = fake_qemu(|request| match request["execute"].as_str().unwrap() {
            "query-status" => vec![event("RESUME"), ok(request, json!({ "status": "running" }))],
            _ => vec![ok(request, json!({}))],
        });
        let status = qmp.execute("query-status", Value::Null).unwrap();
        assert_eq!(status["status"], "running");
        assert_eq!(qmp.events().len(), 1);
        assert_eq!(qmp.wait_event("RESUME", Duration::from_secs(5)).unwrap()["event"], "RESUME");
        assert!(qmp.events().is_empty());
        drop(qmp);
        let requests = server.join().unwrap();
        assert_eq!(requests[0], json!({ "execute": "qmp_capabilities", "id": 1 }));
        assert_eq!(requests[1], json!({ "execute": "query-status", "id": 2 }));
    }

    #[test]
    fn wait_event_reads_until_the_event_comes() {
        let (mut qmp, _server) = fake_qemu(|request| match request["execute"].as_str().unwrap() {
            "system_powerdown" => {
                vec![ok(request, json!({})), event("POWERDOWN"), event("SHUTDOWN")]
            }
            _ => vec![ok(request, json!({}))],
        });
        qmp.execute("system_powerdown", Value::Null).unwrap();
        qmp.wait_event("SHUTDOWN", Duration::from_secs(5)).unwrap();
        assert_eq!(qmp.take_events().len(), 1, "POWERDOWN is kept");
        let error = qmp.wait_event("RESET", Duration::from_millis(100)).unwrap_err();
        assert!(format!("{error:#}").contains("RESET"), "{error:#}");
    }

    #[test]
    fn error_replies_are_qmp_errors() {
        let (mut qmp, _server) = fake_qemu(|request| match request["execute"].as_str().unwrap() {
            "qmp_capabilities" => vec![ok(request, json!({}))],
            _ => vec![error(request, "CommandNotFound", "The command nope has not been found")],
        });
        let error = qmp.execute("nope", Value::Null).unwrap_err();
        let qmp_error = error.downcast_ref::<QmpError>().unwrap();
        assert_eq!(qmp_error.class, "CommandNotFound");
        assert!(error.to_string().contains("nope"), "{error}");
    }

    #[test]
    fn a_key_is_pressed_then_released() {
        let (mut qmp, server) = fake_qemu(|request| vec![ok(request, json!({}))]);
        qmp.send_key("esc").unwrap();
        qmp.send_key_to("keyboard0", "ret").unwrap();
        drop(qmp);
        let requests = server.join().unwrap();
        let keys: Vec<(Value, Value, Value)> = requests[1..]
            .iter()
            .map(|r| {
                assert_eq!(r["execute"], "input-send-event");
                let data = &r["arguments"]["events"][0]["data"];
                (
                    data["key"]["data"].clone(),
                    data["down"].clone(),
                    r["arguments"]["device"].clone(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (json!("esc"), json!(true), Value::Null),
                (json!("esc"), json!(false), Value::Null),
                (json!("ret"), json!(true), json!("keyboard0")),
                (json!("ret"), json!(false), json!("keyboard0")),
            ]
        );
    }

    #[test]
    fn screendump_falls_back_to_ppm() {
        let (mut qmp, server) = fake_qemu(|request| {
            if request["arguments"]["format"] == "png" {
                vec![error(
                    request,
                    "GenericError",
                    "Enable PNG support with libpng for screendump",
                )]
            } else {
                vec![ok(request, json!({}))]
            }
        });
        assert_eq!(qmp.screendump(Path::new("/tmp/screen")).unwrap(), ImageFormat::Ppm);
        drop(qmp);
        let requests = server.join().unwrap();
        assert_eq!(requests[2]["arguments"], json!({ "filename": "/tmp/screen" }));
    }

    #[test]
    fn quit_accepts_a_closed_connection() {
        let (client, server) = UnixStream::pair().unwrap();
        let thread = std::thread::spawn(move || {
            let mut writer = server.try_clone().unwrap();
            let mut lines = BufReader::new(server).lines();
            writeln!(writer, "{}", json!({ "QMP": {} })).unwrap();
            lines.next();
            writeln!(writer, "{}", json!({ "return": {}, "id": 1 })).unwrap();
            lines.next(); // quit: hang up without a reply
        });
        let mut qmp = Qmp::handshake(client).unwrap();
        let quitting = std::thread::spawn(move || qmp.quit());
        thread.join().unwrap();
        quitting.join().unwrap().unwrap();
    }
}
