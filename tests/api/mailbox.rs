//! A real SMTP server for the tests, in process (mailin-embedded), keeping
//! every message it receives. Every port is bound by whoever serves on it:
//! a server that is down at first holds its port bound but not listening
//! (connections are refused), so Vigía can be pointed at it and no other
//! process can take the port meanwhile.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::response::{self, Response};
use mailin_embedded::{Handler, Server};
use socket2::{Domain, Socket, Type};

/// One received message, parsed.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub raw: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    fn parse(to: Vec<String>, raw: Vec<u8>) -> Mail {
        let parsed = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("the server received a parseable message");
        Mail {
            to,
            subject: parsed.subject().unwrap_or_default().to_string(),
            message_id: parsed.message_id().unwrap_or_default().to_string(),
            text: parsed.body_text(0).unwrap_or_default().to_string(),
            html: parsed.body_html(0).unwrap_or_default().to_string(),
            raw: String::from_utf8_lossy(&raw).into_owned(),
        }
    }

    /// A header's raw value (unfolded), e.g. `List-Unsubscribe`.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or("");
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }

    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let start = self
            .text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link {prefix} in:\n{}", self.text));
        self.text[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }
}

#[derive(Clone)]
struct Keeper {
    received: Arc<Mutex<Vec<Mail>>>,
    /// While set, every recipient is refused for good (550).
    refusing: Arc<AtomicBool>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Keeper {
    fn rcpt(&mut self, _to: &str) -> Response {
        if self.refusing.load(Ordering::SeqCst) {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = Mail::parse(std::mem::take(&mut self.to), std::mem::take(&mut self.data));
        self.received.lock().unwrap().push(mail);
        response::OK
    }
}

pub struct MailServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Mail>>>,
    refusing: Arc<AtomicBool>,
}

/// A port held for a mail server that is not up yet: bound, not listening,
/// so connecting to it is refused as if nothing were there.
pub struct DownMailServer {
    pub port: u16,
    socket: Socket,
}

impl DownMailServer {
    /// Brings the mail server up on the held port.
    pub fn start(self) -> MailServer {
        self.socket.listen(128).unwrap();
        MailServer::serve(self.socket.into(), self.port)
    }
}

impl MailServer {
    /// Serves on a port of its own on a thread of its own, until the test ends.
    pub fn start() -> MailServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        MailServer::serve(listener, port)
    }

    /// A mail server that is down for now: see [`DownMailServer::start`].
    pub fn down() -> DownMailServer {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        // No SO_REUSEADDR: nobody else can bind the port while it is held.
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket.bind(&any.into()).unwrap();
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        DownMailServer { port, socket }
    }

    fn serve(listener: TcpListener, port: u16) -> MailServer {
        let received = Arc::new(Mutex::new(Vec::new()));
        let refusing = Arc::new(AtomicBool::new(false));
        let mut server = Server::new(Keeper {
            received: received.clone(),
            refusing: refusing.clone(),
            to: Vec::new(),
            data: Vec::new(),
        });
        server
            .with_name("mail.test")
            // Each pooled client connection holds a server thread (blocking IO).
            .with_num_threads(64)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        MailServer {
            port,
            received,
            refusing,
        }
    }

    /// From now on, refuses every recipient for good (SMTP 550), as a
    /// server does for an address it does not know; `false` undoes it.
    pub fn refuse_all(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }

    pub fn all(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }

    /// Messages to `address`.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }

    /// Waits (up to 30 s) until `address` has received `count` messages.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.to(address);
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{address} received {} of {count} messages: {:#?}",
                got.len(),
                got.iter().map(|m| &m.subject).collect::<Vec<_>>()
            );
            actix_web::rt::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
