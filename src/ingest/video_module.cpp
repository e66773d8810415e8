// libride_video.so: the video reader (video_source.cpp, linked in from ride_ingest_video) as a
// module that ride loads with dlopen (video_loader.cpp), through this one entry point.
#include <exception>
#include <string>

#include "ingest/video_source.h"

extern "C" ride::ingest::VideoInput* ride_video_create(const ride::ingest::InputSpec* spec,
                                                        const ride::ingest::VideoOptions* opts,
                                                        std::string* error) {
  try {
    return ride::ingest::make_video_input(*spec, *opts).release();
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return nullptr;
  }
}
