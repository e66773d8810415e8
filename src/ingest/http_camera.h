#pragma once
/// @brief HTTP cameras, many on few threads (#15): JPEG snapshot URLs, polled when ingest samples
/// them, and MJPEG streams (multipart/x-mixed-replace), told apart by the response's
/// Content-Type. One I/O thread per process runs every camera's transfers through libcurl's multi
/// interface; a small pool (VideoOptions::decoders threads) decodes the JPEGs with libjpeg(-turbo).
/// A 1,000-camera ingest rank thus runs 1 + decoders threads for its cameras, not 1,000.
///
/// The same semantics as the other live inputs (video_source.h): take() asks for a frame and
/// returns one received after the ask (a snapshot is requested then; an MJPEG camera's next
/// JPEG is taken), never a stale one; frames nobody asked for are not decoded. A camera that
/// cannot be reached, answers an error (HTTP 4xx/5xx), something that is not a JPEG, or drops
/// its stream is retried with exponential backoff (retry_s doubling up to retry_max_s) while
/// the others go on; a JPEG that does not decode is counted (InputStatus::corrupt_frames) and
/// skipped. Frame size: frames keep the size the camera sends; with a declared size (a camera
/// list's width and height) a frame of another size is scaled to it (counted as resized_frames),
/// so a camera that changes resolution mid-stream keeps delivering the declared size; without a
/// declared size a frame-size change is passed on as it is (each frame carries its own size).
/// With VideoOptions::keep_jpeg (ingest.encoding = jpeg) the decoders only check that a JPEG is
/// whole and pass its bytes on: damage inside the compressed data is then found by the worker's
/// decoder and recorded as that frame's error in the results.
#include <memory>

#include "ingest/video_source.h"

namespace ride::ingest {

/// An http:// or https:// live input served by the process's camera hub.
std::unique_ptr<VideoInput> make_http_camera(InputSpec spec, VideoOptions opts);

/// Threads the process's camera hub runs now (its I/O thread and decoders; 0 with no HTTP camera
/// open).
int http_hub_threads();

}  // namespace ride::ingest
