#pragma once
/// @brief Network video streams (RTSP over TCP or UDP, RTMP, SRT, raw UDP/TCP) read through
/// FFmpeg's own libraries (libavformat, libavcodec, libswscale) with their decoding in one
/// bounded pool per process (#15). An H.264 camera must be decoded continuously (each frame
/// depends on the ones before), so its decoding is the cost that grows with cameras; here every
/// stream's decoder is single-threaded and decoded by one of VideoOptions::stream_decoders pool
/// threads, so a rank with many cameras decodes on at most that many cores and runs
/// cameras + stream_decoders threads for them (OpenCV's FFmpeg backend gives each camera a
/// decoder with a thread per core besides its capture thread).
///
/// Per stream one reader thread demultiplexes (blocked in the network read, a few microseconds of
/// CPU per packet): FFmpeg's RTSP demuxer has only blocking reads, whose 100 ms polling slices
/// would make one thread taking turns between cameras miss packets. It queues each packet of the
/// video stream for the pool; a pool thread takes a stream's queued packets (at most 16 at a time,
/// then the next stream has its turn), decodes them in order, and converts a frame only when ingest
/// asked for one (take(): the first frame decoded after the ask, never a stale one).
///
/// Rules an operator can rely on:
///  - A stream the decoders fall behind on (more than 2 s of packets queued, or 256 packets) drops
///    its queue and waits for the next key frame; the packets dropped are counted
///    (InputStatus::dropped_packets) and named in last_error, the other streams go on.
///  - A packet that does not decode is counted as a corrupt frame; the decoder resynchronises by
///    itself at the next key frame.
///  - Frame size: a frame keeps the size the stream sends, or with a declared size (a camera
///    list's width x height) is scaled to it (counted as resized_frames when it differs), so a
///    camera that changes resolution mid-stream keeps delivering the declared size.
///  - An open that fails, or a read that gets nothing for VideoOptions::timeout_s (FFmpeg's
///    interrupt callback), is retried with exponential backoff (retry_s doubling up to
///    retry_max_s); the reader's state, attempts, reconnects and last error are reported.
///  - InputStatus::cpu_s is the stream's reader thread CPU plus the pool's CPU on its packets.
#include <memory>
#include <string>

#include "ingest/video_source.h"

namespace ride::ingest {

/// A live network stream decoded by the process's stream pool.
std::unique_ptr<VideoInput> make_stream_camera(InputSpec spec, VideoOptions opts);

/// True for URLs the stream pool reads: rtsp, rtsps, rtmp(s), srt, udp and tcp.
bool is_network_stream_url(const std::string& url);

/// Threads the process's stream pool runs now (its decoders; 0 with no stream open). Readers are
/// one per open stream besides.
int stream_pool_threads();

}  // namespace ride::ingest
