//! The private-network layer under Noise, wire-compatible with libp2p's `pnet` (a 24-byte nonce
//! each way, then XSalsa20 over everything), but with a key ring: after a key rotation a listener
//! still recognises the previous key for a grace period, so that a member who was away can come
//! back, prove who it is over Noise and be handed the new key. Dialing always uses the current key.
//!
//! The listener tells the keys apart by the first bytes the dialer sends, which multistream-select
//! fixes: `\x13/multistream/1.0.0\n` (the dialer always speaks first).

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use rand::RngCore;
use salsa20::cipher::{KeyIvInit, StreamCipher};
use salsa20::XSalsa20;
use std::collections::HashSet;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};

const NONCE: usize = 24;
/// What a multistream-select dialer sends first, length-prefixed.
const FIRST_BYTES: &[u8; 20] = b"\x13/multistream/1.0.0\n";

/// The workspace keys this peer speaks: the current one, and the previous one until a deadline.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<RwLock<Keys>>,
    /// Remote addresses of inbound connections made with the previous key (see [`KeyRing::came_with_old_key`]).
    old_key_conns: Arc<Mutex<HashSet<String>>>,
}

/// The keys in a [`KeyRing`].
#[derive(Clone, Copy)]
pub struct Keys {
    /// The key used to dial and accepted from anyone.
    pub current: [u8; 32],
    /// The key before the last rotation, accepted from listeners' peers until the Unix time given.
    pub previous: Option<([u8; 32], u64)>,
}

impl KeyRing {
    /// A ring holding `keys`.
    pub fn new(keys: Keys) -> KeyRing {
        KeyRing {
            inner: Arc::new(RwLock::new(keys)),
            old_key_conns: Arc::default(),
        }
    }

    /// The keys now.
    pub fn keys(&self) -> Keys {
        *self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the keys; connections already made are not touched.
    pub fn set(&self, keys: Keys) {
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = keys;
    }

    /// Whether the inbound connection from `remote` was made with the previous key (forgets it).
    pub fn came_with_old_key(&self, remote: &str) -> bool {
        self.old_key_conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(remote)
    }

    /// The handshake: as the dialer with the current key, as the listener with whichever key the
    /// dialer used (the previous one only before its deadline).
    pub async fn handshake<S>(self, mut socket: S, listener_remote: Option<String>) -> io::Result<PskStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let keys = self.keys();
        let mut local_nonce = [0u8; NONCE];
        rand::thread_rng().fill_bytes(&mut local_nonce);
        socket.write_all(&local_nonce).await?;
        socket.flush().await?;
        let mut remote_nonce = [0u8; NONCE];
        socket.read_exact(&mut remote_nonce).await?;
        let previous = keys
            .previous
            .filter(|(_, until)| crate::unix_now() < *until)
            .map(|(k, _)| k);
        let (Some(remote), Some(previous)) = (listener_remote, previous) else {
            return Ok(PskStream::new(
                socket,
                &keys.current,
                &local_nonce,
                &remote_nonce,
                Vec::new(),
            ));
        };
        let mut first = [0u8; FIRST_BYTES.len()];
        socket.read_exact(&mut first).await?;
        for (key, old) in [(keys.current, false), (previous, true)] {
            let mut read = XSalsa20::new(&key.into(), &remote_nonce.into());
            let mut plain = first;
            read.apply_keystream(&mut plain);
            if &plain == FIRST_BYTES {
                if old {
                    let mut conns = self.old_key_conns.lock().unwrap_or_else(|p| p.into_inner());
                    conns.insert(remote);
                }
                let write = XSalsa20::new(&key.into(), &local_nonce.into());
                return Ok(PskStream {
                    inner: socket,
                    read,
                    write,
                    unread: plain.to_vec(),
                    unwritten: Vec::new(),
                });
            }
        }
        // Not a key we know, or not a libp2p dialer: nothing more to say to it.
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "private network key mismatch",
        ))
    }
}

/// A connection encrypted with the workspace key.
pub struct PskStream<S> {
    inner: S,
    read: XSalsa20,
    write: XSalsa20,
    /// Plaintext already read and decrypted during the handshake.
    unread: Vec<u8>,
    /// Ciphertext accepted from the caller and not yet written.
    unwritten: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PskStream<S> {
    fn new(inner: S, key: &[u8; 32], local: &[u8; NONCE], remote: &[u8; NONCE], unread: Vec<u8>) -> Self {
        PskStream {
            inner,
            read: XSalsa20::new(&(*key).into(), &(*remote).into()),
            write: XSalsa20::new(&(*key).into(), &(*local).into()),
            unread,
            unwritten: Vec::new(),
        }
    }

    /// Writes out buffered ciphertext; Ready once none is left.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.unwritten.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.unwritten) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.unwritten.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for PskStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.unread.is_empty() {
            let n = buf.len().min(this.unread.len());
            buf[..n].copy_from_slice(&this.unread[..n]);
            this.unread.drain(..n);
            return Poll::Ready(Ok(n));
        }
        let res = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = res {
            this.read.apply_keystream(&mut buf[..n]);
        }
        res
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for PskStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Bytes are encrypted exactly once, when accepted; a backlog is written out first so that
        // memory stays bounded by one caller's buffer.
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        let start = this.unwritten.len();
        this.unwritten.extend_from_slice(buf);
        this.write.apply_keystream(&mut this.unwritten[start..]);
        let _ = this.drain(cx)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::{AsyncReadExt, AsyncWriteExt};

    async fn pair(dialer: Keys, listener: Keys) -> io::Result<(Vec<u8>, bool)> {
        let (a, b) = tokio::io::duplex(1 << 16);
        use tokio_util::compat::TokioAsyncReadCompatExt;
        let (a, b) = (a.compat(), b.compat());
        let (d, l) = (KeyRing::new(dialer), KeyRing::new(listener));
        let l2 = l.clone();
        let dial = async move {
            let mut s = d.handshake(a, None).await?;
            s.write_all(FIRST_BYTES).await?;
            s.write_all(b"hello").await?;
            s.flush().await?;
            io::Result::Ok(s)
        };
        let listen = async move {
            let mut s = l.handshake(b, Some("remote".into())).await?;
            let mut got = vec![0u8; FIRST_BYTES.len() + 5];
            s.read_exact(&mut got).await?;
            io::Result::Ok(got)
        };
        let (d, got) = tokio::join!(dial, listen);
        d?;
        Ok((got?, l2.came_with_old_key("remote")))
    }

    /// Whether the listener reads what the dialer wrote (a wrong key yields garbage or an error).
    async fn understood(dialer: Keys, listener: Keys) -> bool {
        let mut sent = FIRST_BYTES.to_vec();
        sent.extend_from_slice(b"hello");
        matches!(pair(dialer, listener).await, Ok((got, _)) if got == sent)
    }

    const A: [u8; 32] = [1; 32];
    const B: [u8; 32] = [2; 32];

    #[tokio::test]
    async fn the_same_key_connects_and_a_different_one_does_not() {
        let keys = Keys {
            current: A,
            previous: None,
        };
        let (got, old) = pair(keys, keys).await.expect("same key");
        assert_eq!(&got[FIRST_BYTES.len()..], b"hello");
        assert!(!old);
        let other = Keys {
            current: B,
            previous: None,
        };
        let with_previous = Keys {
            current: A,
            previous: Some(([3; 32], u64::MAX)),
        };
        assert!(!understood(other, with_previous).await);
        assert!(!understood(other, keys).await);
    }

    #[tokio::test]
    async fn the_previous_key_is_accepted_until_its_deadline_and_marked() {
        let old = Keys {
            current: A,
            previous: None,
        };
        let rotated = Keys {
            current: B,
            previous: Some((A, u64::MAX)),
        };
        let (got, marked) = pair(old, rotated).await.expect("previous key within grace");
        assert_eq!(&got[FIRST_BYTES.len()..], b"hello");
        assert!(marked);
        let expired = Keys {
            current: B,
            previous: Some((A, 1)),
        };
        assert!(!understood(old, expired).await);
    }
}
