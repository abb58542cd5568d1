/* media._fanout: the relay's per-packet fan-out loop in C (see media/fanout.py for the API and the
 * pure-Python twin that defines its behaviour).
 *
 * A Leg is one outbound stream's send state: RTP header template, sequence/timestamp rebasing,
 * NACK history, counters and the route (an SRTP session's srtp_protect and a UDP socket's fd).
 * deliver(legs, producer, packet) does, for every leg, what Leg.forward does for one: gate on the
 * source, rebase, rewrite the header, protect, send, remember. libsrtp is not linked here: the
 * srtp_protect function pointer and the srtp_t come from pylibsrtp's own binding (fanout.py), so
 * there is one libsrtp in the process and the session stays the DTLS transport's.
 *
 * Everything runs with the GIL held, on the event loop's thread, like the Python path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "structmember.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#define HISTORY 1024          /* packets kept for NACK answers: the same as media/consumer.py */
#define MAX_EXT 256           /* header extension block bytes */
#define SRTP_MAX_TRAILER 144  /* pylibsrtp: SRTP_MAX_TAG_LEN + SRTP_MAX_MKI_LEN */
#define SRTP_BUFFER 1500      /* pylibsrtp's buffer: a packet may be at most 1500 - 144 bytes */
#define MAX_PACKET (SRTP_BUFFER - SRTP_MAX_TRAILER)
/* NACK storms (the same as media/fanout.py): one packet resent at most once per round trip, and the
 * payload bytes resent limited by a token bucket */
#define NACK_INTERVAL 0.1         /* s between two resends of one packet while the round trip is unknown */
#define NACK_MIN_INTERVAL 0.01    /* s between two resends of one packet, however short the round trip */
#define RETRANSMIT_RATE 125000    /* payload bytes per second (1 Mbit/s) */
#define RETRANSMIT_BURST 125000   /* payload bytes at once */

typedef int (*srtp_protect_fn)(void *ctx, void *rtp_hdr, int *len_ptr);

/* interned names */
static PyObject *s_sequence_number, *s_timestamp, *s_marker, *s_payload, *s_arrival, *s_forward,
    *s_is_closing, *s_sendto, *s_get_write_buffer_size;

static unsigned char g_buffer[SRTP_BUFFER + 16];

typedef struct {
    PyObject_HEAD
    /* header template */
    int has_header;
    int paused;
    uint8_t b0, pt;
    uint32_t ssrc;
    uint8_t ext[MAX_EXT];
    Py_ssize_t ext_len;
    /* rebasing (media.rtp.StreamRebaser) */
    uint32_t clock_rate;
    uint16_t seq_off;
    uint32_t ts_off;
    uint16_t first_out;
    uint16_t last_seq;
    uint32_t last_ts;
    double last_time;
    int has_last_time;
    int started;
    PyObject *source;
    /* counters */
    long long packets, octets, send_failures, retransmitted, retransmit_suppressed;
    /* retransmission token bucket (whole payload bytes) */
    long long budget;
    double budget_time;
    int has_budget_time;
    /* hooks */
    PyObject *send;      /* send(bytes) -> bool: used when there is no resolve */
    PyObject *resolve;   /* resolve() -> Route | None, or NULL */
    PyObject *on_switch; /* on_switch(producer, packet) -> bool */
    /* route */
    int has_route;
    int deferred;        /* the transport buffers: send through it until its buffer is empty */
    srtp_protect_fn protect;
    void *srtp_ctx;
    PyObject *session;
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    PyObject *transport;
    PyObject *addr_obj;
    PyObject *guard_owner, *guard_attr, *guard_expected, *guard_map, *guard_key, *guard_value;
    long long direct_sends;
    /* NACK history */
    int32_t hist_seq[HISTORY];
    uint32_t hist_ts[HISTORY];
    uint8_t hist_marker[HISTORY];
    PyObject *hist_payload[HISTORY];
    double hist_resent[HISTORY]; /* when the slot's packet was last resent, -inf: never */
} Leg;

static PyTypeObject LegType;

static inline int seq_newer(uint16_t a, uint16_t b) {
    return a != b && (uint16_t)(a - b) < 0x8000;
}

static void leg_clear_route(Leg *L) {
    L->has_route = 0;
    L->deferred = 0;
    L->protect = NULL;
    L->srtp_ctx = NULL;
    L->fd = -1;
    L->addrlen = 0;
    Py_CLEAR(L->session);
    Py_CLEAR(L->transport);
    Py_CLEAR(L->addr_obj);
    Py_CLEAR(L->guard_owner);
    Py_CLEAR(L->guard_attr);
    Py_CLEAR(L->guard_expected);
    Py_CLEAR(L->guard_map);
    Py_CLEAR(L->guard_key);
    Py_CLEAR(L->guard_value);
}

/* Route = (protect_fn, srtp_ctx, session, fd, sockaddr, transport, addr,
 *          guard_owner, guard_attr, guard_expected, guard_map, guard_key, guard_value) */
static int leg_set_route(Leg *L, PyObject *route) {
    unsigned long long fn, ctx;
    PyObject *session, *transport, *addr_obj, *owner, *attr, *expected, *map, *key, *value;
    int fd;
    const char *sockaddr;
    Py_ssize_t sockaddr_len;
    if (!PyTuple_Check(route)) {
        PyErr_SetString(PyExc_TypeError, "route must be a tuple (media.fanout.Route)");
        return -1;
    }
    if (!PyArg_ParseTuple(route, "KKOiy#OOOUOOOO:Route", &fn, &ctx, &session, &fd, &sockaddr, &sockaddr_len,
                          &transport, &addr_obj, &owner, &attr, &expected, &map, &key, &value))
        return -1;
    if (!fn || !ctx) {
        PyErr_SetString(PyExc_ValueError, "route without an SRTP session");
        return -1;
    }
    if (!PyDict_Check(map)) {
        PyErr_SetString(PyExc_TypeError, "route guard_map must be a dict");
        return -1;
    }
    if (fd >= 0 && (sockaddr_len <= 0 || (size_t)sockaddr_len > sizeof(struct sockaddr_storage))) {
        PyErr_SetString(PyExc_ValueError, "route sockaddr has a bad length");
        return -1;
    }
    leg_clear_route(L);
    L->protect = (srtp_protect_fn)(uintptr_t)fn;
    L->srtp_ctx = (void *)(uintptr_t)ctx;
    L->fd = fd;
    if (fd >= 0) {
        memset(&L->addr, 0, sizeof(L->addr));
        memcpy(&L->addr, sockaddr, (size_t)sockaddr_len);
        L->addrlen = (socklen_t)sockaddr_len;
    }
    Py_INCREF(session); L->session = session;
    Py_INCREF(transport); L->transport = transport;
    Py_INCREF(addr_obj); L->addr_obj = addr_obj;
    Py_INCREF(owner); L->guard_owner = owner;
    Py_INCREF(attr); L->guard_attr = attr;
    Py_INCREF(expected); L->guard_expected = expected;
    Py_INCREF(map); L->guard_map = map;
    Py_INCREF(key); L->guard_key = key;
    Py_INCREF(value); L->guard_value = value;
    L->has_route = 1;
    return 0;
}

/* the checks of leg_route_valid, on strong references: the Python code they run may drop the route */
static int route_guards_hold(PyObject *const *g, int fd) {
    /* g: owner, attr, expected, map, key, value, transport */
    PyObject *v = PyObject_GetAttr(g[0], g[1]);
    int same, truth;
    if (v == NULL)
        return -1;
    same = v == g[2];
    Py_DECREF(v);
    if (!same)
        return 0;
    v = PyDict_GetItemWithError(g[3], g[4]);
    if (v == NULL && PyErr_Occurred())
        return -1;
    if (v != g[5])
        return 0;
    if (fd < 0)
        return 1;
    /* a closing transport may close its socket (and free the fd number) at any later iteration */
    v = PyObject_CallMethodNoArgs(g[6], s_is_closing);
    if (v == NULL)
        return -1;
    truth = PyObject_IsTrue(v);
    Py_DECREF(v);
    return truth < 0 ? -1 : !truth;
}

/* 1 valid, 0 not, -1 error */
static int leg_route_valid(Leg *L) {
    PyObject *g[7];
    int valid;
    if (!L->has_route)
        return 0;
    g[0] = L->guard_owner; g[1] = L->guard_attr; g[2] = L->guard_expected; g[3] = L->guard_map;
    g[4] = L->guard_key; g[5] = L->guard_value; g[6] = L->transport;
    for (int i = 0; i < 7; i++)
        Py_INCREF(g[i]);
    valid = route_guards_hold(g, L->fd);
    /* the route checked is still the leg's (a hook may have dropped or replaced it) */
    if (valid > 0 && !(L->has_route && L->transport == g[6] && L->guard_value == g[5]))
        valid = 0;
    for (int i = 0; i < 7; i++)
        Py_DECREF(g[i]);
    return valid;
}

static Py_ssize_t write_packet(Leg *L, int marker, uint16_t seq, uint32_t ts, const char *payload,
                               Py_ssize_t plen) {
    Py_ssize_t total = 12 + L->ext_len + plen;
    unsigned char *b = g_buffer;
    if (total > MAX_PACKET)
        return -1;
    b[0] = L->b0;
    b[1] = (uint8_t)(L->pt | (marker ? 0x80 : 0));
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[4] = (uint8_t)(ts >> 24);
    b[5] = (uint8_t)(ts >> 16);
    b[6] = (uint8_t)(ts >> 8);
    b[7] = (uint8_t)ts;
    b[8] = (uint8_t)(L->ssrc >> 24);
    b[9] = (uint8_t)(L->ssrc >> 16);
    b[10] = (uint8_t)(L->ssrc >> 8);
    b[11] = (uint8_t)L->ssrc;
    if (L->ext_len)
        memcpy(b + 12, L->ext, (size_t)L->ext_len);
    memcpy(b + 12 + L->ext_len, payload, (size_t)plen);
    return total;
}

/* Send through the Python transport (not a plain socket, a send error, or a transport that buffers). */
static int leg_send_via_transport(Leg *L, const unsigned char *data, int len) {
    PyObject *bytes, *r, *transport = L->transport, *addr = L->addr_obj, *size;
    long n;
    bytes = PyBytes_FromStringAndSize((const char *)data, len);
    if (bytes == NULL)
        return -1;
    Py_INCREF(transport); /* sendto (its protocol's error_received...) may drop the route */
    Py_INCREF(addr);
    r = PyObject_CallMethodObjArgs(transport, s_sendto, bytes, addr, NULL);
    Py_DECREF(bytes);
    Py_DECREF(addr);
    if (r == NULL) {
        Py_DECREF(transport);
        return -1;
    }
    Py_DECREF(r);
    if (L->fd < 0 || L->transport != transport) {
        Py_DECREF(transport);
        return 1;
    }
    size = PyObject_CallMethodNoArgs(transport, s_get_write_buffer_size);
    Py_DECREF(transport);
    if (size == NULL)
        return -1;
    n = PyLong_AsLong(size);
    Py_DECREF(size);
    if (n == -1 && PyErr_Occurred())
        return -1;
    L->deferred = n > 0;
    return 1;
}

/* Write, protect and send one packet: 1 sent, 0 not sent (a send failure), -1 exception. */
static int leg_emit(Leg *L, int marker, uint16_t seq, uint32_t ts, PyObject *payload) {
    int valid, len;
    Py_ssize_t total;
    valid = leg_route_valid(L);
    if (valid < 0)
        return -1;
    if (!valid) {
        leg_clear_route(L);
        if (L->resolve == NULL || L->resolve == Py_None) {
            /* no direct route: the port's own send(bytes) -> bool */
            PyObject *bytes, *r;
            int truth;
            if (L->send == NULL)
                return 0; /* cleared by the garbage collector */
            total = write_packet(L, marker, seq, ts, PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload));
            if (total < 0)
                return 0;
            bytes = PyBytes_FromStringAndSize((const char *)g_buffer, total);
            if (bytes == NULL)
                return -1;
            r = PyObject_CallOneArg(L->send, bytes);
            Py_DECREF(bytes);
            if (r == NULL)
                return -1;
            truth = PyObject_IsTrue(r);
            Py_DECREF(r);
            return truth;
        } else {
            PyObject *route = PyObject_CallNoArgs(L->resolve);
            int rc;
            if (route == NULL)
                return -1;
            if (route == Py_None) {
                Py_DECREF(route);
                return 0;
            }
            rc = leg_set_route(L, route);
            Py_DECREF(route);
            if (rc < 0)
                return -1;
        }
    }
    total = write_packet(L, marker, seq, ts, PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload));
    if (total < 0)
        return 0;
    len = (int)total;
    if (L->protect(L->srtp_ctx, g_buffer, &len) != 0)
        return 0;
    if (L->fd >= 0 && !L->deferred) {
        ssize_t n = sendto(L->fd, g_buffer, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&L->addr, L->addrlen);
        if (n >= 0) {
            L->direct_sends++;
            return 1;
        }
        /* EAGAIN, ENOBUFS, an ICMP error...: let the transport do what it does with it
         * (buffer it and wait for writability, or report it to its protocol) */
    }
    return leg_send_via_transport(L, g_buffer, len);
}

static void leg_remember(Leg *L, uint16_t seq, uint32_t ts, int marker, PyObject *payload) {
    int slot = seq % HISTORY;
    PyObject *old = L->hist_payload[slot];
    L->hist_seq[slot] = seq;
    L->hist_ts[slot] = ts;
    L->hist_marker[slot] = (uint8_t)(marker ? 1 : 0);
    L->hist_resent[slot] = -INFINITY;
    Py_INCREF(payload);
    L->hist_payload[slot] = payload;
    Py_XDECREF(old);
}

static void leg_rebase(Leg *L, PyObject *source, uint16_t seq, uint32_t ts, double now) {
    long long gap = 1;
    uint16_t out_seq;
    if (L->has_last_time) {
        long long g = (long long)((now - L->last_time) * (double)L->clock_rate);
        gap = g > 1 ? g : 1;
    }
    out_seq = (uint16_t)(L->last_seq + 1);
    L->seq_off = (uint16_t)(out_seq - seq);
    if (L->started)
        L->ts_off = (uint32_t)((uint64_t)L->last_ts + (uint64_t)gap - (uint64_t)ts);
    else
        L->ts_off = (uint32_t)(L->last_ts - ts);
    L->first_out = out_seq;
    Py_INCREF(source);
    Py_XSETREF(L->source, source);
    L->started = 1;
}

typedef struct {
    uint16_t seq;
    uint32_t ts;
    int marker;
    PyObject *payload; /* borrowed from the packet, which the caller holds */
    double arrival;
} Inbound;

/* read a ForwardedPacket; 0 ok, -1 exception. payload is a new reference. */
static int read_packet(PyObject *packet, Inbound *in) {
    PyObject *v;
    long seq, marker;
    unsigned long ts;
    v = PyObject_GetAttr(packet, s_sequence_number);
    if (v == NULL) return -1;
    seq = PyLong_AsLong(v);
    Py_DECREF(v);
    if (seq == -1 && PyErr_Occurred()) return -1;
    v = PyObject_GetAttr(packet, s_timestamp);
    if (v == NULL) return -1;
    ts = PyLong_AsUnsignedLongMask(v);
    Py_DECREF(v);
    if (ts == (unsigned long)-1 && PyErr_Occurred()) return -1;
    v = PyObject_GetAttr(packet, s_marker);
    if (v == NULL) return -1;
    marker = PyObject_IsTrue(v);
    Py_DECREF(v);
    if (marker < 0) return -1;
    v = PyObject_GetAttr(packet, s_arrival);
    if (v == NULL) return -1;
    in->arrival = PyFloat_AsDouble(v);
    Py_DECREF(v);
    if (in->arrival == -1.0 && PyErr_Occurred()) return -1;
    v = PyObject_GetAttr(packet, s_payload);
    if (v == NULL) return -1;
    if (!PyBytes_Check(v)) {
        Py_DECREF(v);
        PyErr_SetString(PyExc_TypeError, "packet.payload must be bytes");
        return -1;
    }
    in->payload = v;
    in->seq = (uint16_t)(seq & 0xFFFF);
    in->ts = (uint32_t)ts;
    in->marker = (int)marker;
    return 0;
}

/* Leg.forward for one leg: 0 ok (sent, skipped or failed), -1 exception */
static int leg_forward_one(Leg *L, PyObject *producer, PyObject *packet, const Inbound *in) {
    uint16_t out_seq;
    uint32_t out_ts;
    int rc;
    if (!L->has_header || L->paused)
        return 0;
    if (producer != L->source) {
        PyObject *r;
        int ok;
        if (L->on_switch == NULL)
            return 0; /* cleared by the garbage collector */
        r = PyObject_CallFunctionObjArgs(L->on_switch, producer, packet, NULL);
        if (r == NULL)
            return -1;
        ok = PyObject_IsTrue(r);
        Py_DECREF(r);
        if (ok < 0)
            return -1;
        if (!ok)
            return 0;
        if (!L->has_header || L->paused)
            return 0; /* on_switch may have closed or paused it */
        leg_rebase(L, producer, in->seq, in->ts, in->arrival);
    }
    out_seq = (uint16_t)(in->seq + L->seq_off);
    if (out_seq != L->first_out && seq_newer(L->first_out, out_seq))
        return 0;
    out_ts = in->ts + L->ts_off;
    rc = leg_emit(L, in->marker, out_seq, out_ts, in->payload);
    if (rc < 0)
        return -1;
    if (rc) {
        leg_remember(L, out_seq, out_ts, in->marker, in->payload);
        if (seq_newer(out_seq, L->last_seq)) {
            L->last_seq = out_seq;
            L->last_ts = out_ts;
        }
        L->last_time = in->arrival;
        L->has_last_time = 1;
        L->packets++;
        L->octets += PyBytes_GET_SIZE(in->payload);
    } else {
        L->send_failures++;
    }
    return 0;
}

/* --- Leg type -------------------------------------------------------------------------------- */

static int Leg_init(Leg *L, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"clock_rate", "initial_seq", "initial_ts", "send", "resolve", "on_switch", NULL};
    unsigned long clock_rate;
    long initial_seq;
    unsigned long long initial_ts;
    PyObject *send, *resolve, *on_switch;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "klKOOO:Leg", kwlist, &clock_rate, &initial_seq, &initial_ts,
                                     &send, &resolve, &on_switch))
        return -1;
    if (!PyCallable_Check(send) || !PyCallable_Check(on_switch) || (resolve != Py_None && !PyCallable_Check(resolve))) {
        PyErr_SetString(PyExc_TypeError, "send and on_switch must be callable, resolve callable or None");
        return -1;
    }
    L->clock_rate = (uint32_t)clock_rate;
    L->first_out = (uint16_t)(initial_seq & 0xFFFF);
    L->last_seq = (uint16_t)((initial_seq - 1) & 0xFFFF);
    L->last_ts = (uint32_t)initial_ts;
    L->seq_off = 0;
    L->ts_off = 0;
    L->has_last_time = 0;
    L->started = 0;
    L->fd = -1;
    Py_INCREF(send); Py_XSETREF(L->send, send);
    Py_INCREF(on_switch); Py_XSETREF(L->on_switch, on_switch);
    if (resolve == Py_None) {
        Py_CLEAR(L->resolve);
    } else {
        Py_INCREF(resolve);
        Py_XSETREF(L->resolve, resolve);
    }
    return 0;
}

static int Leg_traverse(Leg *L, visitproc visit, void *arg) {
    Py_VISIT(L->source);
    Py_VISIT(L->send);
    Py_VISIT(L->resolve);
    Py_VISIT(L->on_switch);
    Py_VISIT(L->session);
    Py_VISIT(L->transport);
    Py_VISIT(L->addr_obj);
    Py_VISIT(L->guard_owner);
    Py_VISIT(L->guard_expected);
    Py_VISIT(L->guard_map);
    Py_VISIT(L->guard_key);
    Py_VISIT(L->guard_value);
    return 0;
}

static void leg_clear_history(Leg *L) {
    for (int i = 0; i < HISTORY; i++) {
        L->hist_seq[i] = -1;
        Py_CLEAR(L->hist_payload[i]);
    }
}

static int Leg_clear(Leg *L) {
    Py_CLEAR(L->source);
    Py_CLEAR(L->send);
    Py_CLEAR(L->resolve);
    Py_CLEAR(L->on_switch);
    leg_clear_route(L);
    leg_clear_history(L);
    return 0;
}

static void Leg_dealloc(Leg *L) {
    PyObject_GC_UnTrack(L);
    Leg_clear(L);
    Py_TYPE(L)->tp_free((PyObject *)L);
}

static PyObject *Leg_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    Leg *L = (Leg *)type->tp_alloc(type, 0);
    if (L == NULL)
        return NULL;
    L->fd = -1;
    L->budget = RETRANSMIT_BURST;
    for (int i = 0; i < HISTORY; i++) {
        L->hist_seq[i] = -1;
        L->hist_resent[i] = -INFINITY;
    }
    return (PyObject *)L;
}

static PyObject *Leg_set_header(Leg *L, PyObject *args) {
    int pt;
    unsigned long long ssrc;
    const char *ext;
    Py_ssize_t ext_len;
    if (!PyArg_ParseTuple(args, "iKy#:set_header", &pt, &ssrc, &ext, &ext_len))
        return NULL;
    if (ext_len > MAX_EXT || ext_len % 4) {
        PyErr_SetString(PyExc_ValueError, "extensions must be a padded block of at most 256 bytes");
        return NULL;
    }
    L->b0 = ext_len ? 0x90 : 0x80;
    L->pt = (uint8_t)(pt & 0x7F);
    L->ssrc = (uint32_t)ssrc;
    memcpy(L->ext, ext, (size_t)ext_len);
    L->ext_len = ext_len;
    L->has_header = 1;
    Py_RETURN_NONE;
}

static PyObject *Leg_clear_header(Leg *L, PyObject *Py_UNUSED(ignored)) {
    L->has_header = 0;
    Py_CLEAR(L->source);
    Py_RETURN_NONE;
}

static PyObject *Leg_restart(Leg *L, PyObject *args) {
    unsigned long clock_rate;
    if (!PyArg_ParseTuple(args, "k:restart", &clock_rate))
        return NULL;
    /* StreamRebaser(clock_rate, last_seq + 1, last_ts), following no source */
    L->clock_rate = (uint32_t)clock_rate;
    L->first_out = (uint16_t)(L->last_seq + 1);
    L->seq_off = 0;
    L->ts_off = 0;
    L->has_last_time = 0;
    L->started = 0;
    Py_CLEAR(L->source);
    Py_RETURN_NONE;
}

static PyObject *Leg_resume(Leg *L, PyObject *args) {
    unsigned long clock_rate;
    long last_seq;
    unsigned long long last_ts;
    PyObject *last_time;
    int started;
    if (!PyArg_ParseTuple(args, "klKOp:resume", &clock_rate, &last_seq, &last_ts, &last_time, &started))
        return NULL;
    if (last_time != Py_None && !PyFloat_Check(last_time) && !PyLong_Check(last_time)) {
        PyErr_SetString(PyExc_TypeError, "last_time must be a number or None");
        return NULL;
    }
    /* continue another sender's stream: StreamRebaser(clock_rate, last_seq + 1, last_ts) at its state */
    L->clock_rate = (uint32_t)clock_rate;
    L->last_seq = (uint16_t)(last_seq & 0xFFFF);
    L->first_out = (uint16_t)(L->last_seq + 1);
    L->last_ts = (uint32_t)last_ts;
    L->seq_off = 0;
    L->ts_off = 0;
    if (last_time == Py_None) {
        L->has_last_time = 0;
    } else {
        double t = PyFloat_AsDouble(last_time);
        if (t == -1.0 && PyErr_Occurred())
            return NULL;
        L->last_time = t;
        L->has_last_time = 1;
    }
    L->started = started;
    Py_CLEAR(L->source);
    Py_RETURN_NONE;
}

static PyObject *Leg_rebase(Leg *L, PyObject *args) {
    PyObject *source;
    long seq;
    unsigned long long ts;
    double now;
    if (!PyArg_ParseTuple(args, "OlKd:rebase", &source, &seq, &ts, &now))
        return NULL;
    leg_rebase(L, source, (uint16_t)(seq & 0xFFFF), (uint32_t)ts, now);
    Py_RETURN_NONE;
}

static PyObject *Leg_forward(Leg *L, PyObject *args) {
    PyObject *producer, *packet;
    Inbound in;
    int rc;
    if (!PyArg_ParseTuple(args, "OO:forward", &producer, &packet))
        return NULL;
    if (!L->has_header || L->paused)
        Py_RETURN_NONE;
    if (read_packet(packet, &in) < 0)
        return NULL;
    rc = leg_forward_one(L, producer, packet, &in);
    Py_DECREF(in.payload);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* whole bytes earned since the last refill (the time moves on only when one is: none are lost) */
static void leg_refill(Leg *L, double now) {
    long long earned;
    if (!L->has_budget_time) {
        L->budget_time = now;
        L->has_budget_time = 1;
        return;
    }
    earned = (long long)((now - L->budget_time) * (double)RETRANSMIT_RATE);
    if (earned > 0) {
        L->budget = L->budget + earned < RETRANSMIT_BURST ? L->budget + earned : RETRANSMIT_BURST;
        L->budget_time = now;
    }
}

static double monotonic_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* time.monotonic()'s clock */
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static PyObject *Leg_retransmit(Leg *L, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"sequence_numbers", "now", "rtt", NULL};
    PyObject *seqs, *now_obj = Py_None, *rtt_obj = Py_None, *it, *item;
    double now, interval;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OO:retransmit", kwlist, &seqs, &now_obj, &rtt_obj))
        return NULL;
    if (!L->has_header)
        Py_RETURN_NONE;
    now = now_obj == Py_None ? monotonic_now() : PyFloat_AsDouble(now_obj);
    if (now == -1.0 && PyErr_Occurred())
        return NULL;
    interval = rtt_obj == Py_None ? NACK_INTERVAL : PyFloat_AsDouble(rtt_obj);
    if (interval == -1.0 && PyErr_Occurred())
        return NULL;
    if (rtt_obj != Py_None && !(interval >= NACK_MIN_INTERVAL))
        interval = NACK_MIN_INTERVAL;
    it = PyObject_GetIter(seqs);
    if (it == NULL)
        return NULL;
    leg_refill(L, now);
    while ((item = PyIter_Next(it)) != NULL) {
        int overflow, slot, rc;
        long seq = PyLong_AsLongAndOverflow(item, &overflow);
        PyObject *payload;
        Py_ssize_t cost;
        Py_DECREF(item);
        if (seq == -1 && PyErr_Occurred())
            break;
        if (overflow || seq < 0 || seq > 0xFFFF)
            continue;
        slot = (int)(seq % HISTORY);
        payload = L->hist_payload[slot];
        if (payload == NULL || L->hist_seq[slot] != seq)
            continue; /* too old, or never sent: the subscriber will ask for a keyframe */
        cost = PyBytes_GET_SIZE(payload);
        if (now - L->hist_resent[slot] < interval || cost > L->budget) {
            L->retransmit_suppressed++;
            continue;
        }
        Py_INCREF(payload);
        rc = leg_emit(L, L->hist_marker[slot], (uint16_t)seq, L->hist_ts[slot], payload);
        Py_DECREF(payload);
        if (rc < 0)
            break;
        if (rc) {
            L->retransmitted++;
            L->budget -= cost;
            L->hist_resent[slot] = now;
        } else {
            L->send_failures++;
        }
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Leg_outbound_timestamp(Leg *L, PyObject *arg) {
    unsigned long ts = PyLong_AsUnsignedLongMask(arg);
    if (ts == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    return PyLong_FromUnsignedLong((uint32_t)((uint32_t)ts + L->ts_off));
}

static PyObject *Leg_drop_route(Leg *L, PyObject *Py_UNUSED(ignored)) {
    leg_clear_route(L);
    Py_RETURN_NONE;
}

static PyObject *Leg_get_source(Leg *L, void *c) {
    PyObject *s = L->source ? L->source : Py_None;
    Py_INCREF(s);
    return s;
}

static int Leg_set_source(Leg *L, PyObject *value, void *c) {
    if (value != NULL && value != Py_None) {
        PyErr_SetString(PyExc_ValueError, "a leg's source is set by rebase(); it can only be reset to None");
        return -1;
    }
    Py_CLEAR(L->source);
    return 0;
}

static PyObject *Leg_get_paused(Leg *L, void *c) { return PyBool_FromLong(L->paused); }

static int Leg_set_paused(Leg *L, PyObject *value, void *c) {
    int truth;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete paused");
        return -1;
    }
    truth = PyObject_IsTrue(value);
    if (truth < 0)
        return -1;
    L->paused = truth;
    return 0;
}

static PyObject *Leg_get_active(Leg *L, void *c) { return PyBool_FromLong(L->has_header && !L->paused); }
static PyObject *Leg_get_has_header(Leg *L, void *c) { return PyBool_FromLong(L->has_header); }
static PyObject *Leg_get_started(Leg *L, void *c) { return PyBool_FromLong(L->started); }
static PyObject *Leg_get_last_seq(Leg *L, void *c) { return PyLong_FromLong(L->last_seq); }
static PyObject *Leg_get_last_ts(Leg *L, void *c) { return PyLong_FromUnsignedLong(L->last_ts); }
static PyObject *Leg_get_direct(Leg *L, void *c) { return PyBool_FromLong(L->has_route && L->fd >= 0); }
static PyObject *Leg_get_last_time(Leg *L, void *c) {
    if (!L->has_last_time)
        Py_RETURN_NONE;
    return PyFloat_FromDouble(L->last_time);
}

static PyGetSetDef Leg_getset[] = {
    {"source", (getter)Leg_get_source, (setter)Leg_set_source, "the producer followed now (None: gate again)", NULL},
    {"paused", (getter)Leg_get_paused, (setter)Leg_set_paused, "a paused leg sends nothing", NULL},
    {"active", (getter)Leg_get_active, NULL, "has a header and is not paused", NULL},
    {"has_header", (getter)Leg_get_has_header, NULL, "set_header was called (and not cleared)", NULL},
    {"started", (getter)Leg_get_started, NULL, "rebased at least once", NULL},
    {"last_seq", (getter)Leg_get_last_seq, NULL, "highest outbound sequence number sent", NULL},
    {"last_ts", (getter)Leg_get_last_ts, NULL, "outbound timestamp of last_seq", NULL},
    {"last_time", (getter)Leg_get_last_time, NULL, "arrival time of the last packet sent, or None", NULL},
    {"direct", (getter)Leg_get_direct, NULL, "the current route writes to a socket's fd", NULL},
    {NULL},
};

static PyMemberDef Leg_members[] = {
    {"packets", T_LONGLONG, offsetof(Leg, packets), 0, "packets sent"},
    {"octets", T_LONGLONG, offsetof(Leg, octets), 0, "payload bytes sent"},
    {"send_failures", T_LONGLONG, offsetof(Leg, send_failures), 0, "packets the route could not send"},
    {"retransmitted", T_LONGLONG, offsetof(Leg, retransmitted), 0, "packets sent again on a NACK"},
    {"retransmit_suppressed", T_LONGLONG, offsetof(Leg, retransmit_suppressed), 0,
     "NACKed packets in history not resent: too soon after the last resend, or over the byte budget"},
    {"direct_sends", T_LONGLONG, offsetof(Leg, direct_sends), READONLY, "packets written straight to the fd"},
    {NULL},
};

static PyMethodDef Leg_methods[] = {
    {"set_header", (PyCFunction)Leg_set_header, METH_VARARGS, "set_header(payload_type, ssrc, extensions)"},
    {"clear_header", (PyCFunction)Leg_clear_header, METH_NOARGS, "stop sending (until set_header)"},
    {"restart", (PyCFunction)Leg_restart, METH_VARARGS, "restart(clock_rate): new timeline after the last sent"},
    {"resume", (PyCFunction)Leg_resume, METH_VARARGS,
     "resume(clock_rate, last_seq, last_ts, last_time, started): continue another sender's stream"},
    {"rebase", (PyCFunction)Leg_rebase, METH_VARARGS, "rebase(source, seq, ts, now)"},
    {"forward", (PyCFunction)Leg_forward, METH_VARARGS, "forward(producer, packet)"},
    {"retransmit", (PyCFunction)(void (*)(void))Leg_retransmit, METH_VARARGS | METH_KEYWORDS,
     "retransmit(sequence_numbers, now=None, rtt=None): resend from history, bounded (media/fanout.py)"},
    {"outbound_timestamp", (PyCFunction)Leg_outbound_timestamp, METH_O, "outbound_timestamp(inbound_ts)"},
    {"drop_route", (PyCFunction)Leg_drop_route, METH_NOARGS, "forget the route (resolved again on next send)"},
    {NULL},
};

static PyTypeObject LegType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "media._fanout.Leg",
    .tp_basicsize = sizeof(Leg),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "One outbound stream's send state (see media/fanout.py).",
    .tp_new = Leg_new,
    .tp_init = (initproc)Leg_init,
    .tp_dealloc = (destructor)Leg_dealloc,
    .tp_traverse = (traverseproc)Leg_traverse,
    .tp_clear = (inquiry)Leg_clear,
    .tp_methods = Leg_methods,
    .tp_members = Leg_members,
    .tp_getset = Leg_getset,
};

/* --- deliver ------------------------------------------------------------------------------- */

static PyObject *fanout_deliver(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    PyObject *legs, *producer, *packet;
    Inbound in;
    Py_ssize_t n, i;
    int have_packet = 0;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "deliver(legs, producer, packet)");
        return NULL;
    }
    legs = args[0];
    producer = args[1];
    packet = args[2];
    if (!PyTuple_Check(legs)) {
        PyErr_SetString(PyExc_TypeError, "legs must be a tuple");
        return NULL;
    }
    n = PyTuple_GET_SIZE(legs);
    Py_INCREF(legs);
    for (i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(legs, i);
        if (Py_IS_TYPE(item, &LegType)) {
            Leg *L = (Leg *)item;
            int rc;
            if (!L->has_header || L->paused)
                continue;
            if (!have_packet) {
                if (read_packet(packet, &in) < 0)
                    goto error;
                have_packet = 1;
            }
            Py_INCREF(L);
            rc = leg_forward_one(L, producer, packet, &in);
            Py_DECREF(L);
            if (rc < 0)
                goto error;
        } else {
            PyObject *r = PyObject_CallMethodObjArgs(item, s_forward, producer, packet, NULL);
            if (r == NULL)
                goto error;
            Py_DECREF(r);
        }
    }
    if (have_packet)
        Py_DECREF(in.payload);
    Py_DECREF(legs);
    Py_RETURN_NONE;
error:
    if (have_packet)
        Py_DECREF(in.payload);
    Py_DECREF(legs);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"deliver", (PyCFunction)(void (*)(void))fanout_deliver, METH_FASTCALL,
     "deliver(legs, producer, packet): Leg.forward for every leg, in order"},
    {NULL},
};

static struct PyModuleDef fanout_module = {
    PyModuleDef_HEAD_INIT, "media._fanout", "The relay's fan-out loop in C (see media/fanout.py).", -1,
    module_methods,
};

#define INTERN(var, text) do { var = PyUnicode_InternFromString(text); if (var == NULL) return NULL; } while (0)

static int add_float(PyObject *m, const char *name, double value) {
    PyObject *v = PyFloat_FromDouble(value);
    int rc;
    if (v == NULL)
        return -1;
    rc = PyModule_AddObjectRef(m, name, v);
    Py_DECREF(v);
    return rc;
}

PyMODINIT_FUNC PyInit__fanout(void) {
    PyObject *m;
    INTERN(s_sequence_number, "sequence_number");
    INTERN(s_timestamp, "timestamp");
    INTERN(s_marker, "marker");
    INTERN(s_payload, "payload");
    INTERN(s_arrival, "arrival");
    INTERN(s_forward, "forward");
    INTERN(s_is_closing, "is_closing");
    INTERN(s_sendto, "sendto");
    INTERN(s_get_write_buffer_size, "get_write_buffer_size");
    if (PyType_Ready(&LegType) < 0)
        return NULL;
    m = PyModule_Create(&fanout_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&LegType);
    if (PyModule_AddObject(m, "Leg", (PyObject *)&LegType) < 0) {
        Py_DECREF(&LegType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "HISTORY", HISTORY) < 0 || PyModule_AddIntConstant(m, "MAX_PACKET", MAX_PACKET) < 0
        || PyModule_AddIntConstant(m, "RETRANSMIT_RATE", RETRANSMIT_RATE) < 0
        || PyModule_AddIntConstant(m, "RETRANSMIT_BURST", RETRANSMIT_BURST) < 0
        || add_float(m, "NACK_INTERVAL", NACK_INTERVAL) < 0 || add_float(m, "NACK_MIN_INTERVAL", NACK_MIN_INTERVAL) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
