/*
 * protobuf-c glue: an allocator adapter so that protobuf-c's unpack/free go through the
 * injected gg_mem like everything else.
 */
#ifndef GGEN_PB_H
#define GGEN_PB_H

#include <protobuf-c/protobuf-c.h>

#include "ggen/mem.h"

/* Fills a ProtobufCAllocator that allocates from mem (NULL = default). The allocator keeps a
 * pointer to mem, which must outlive it. */
void gg_pb_allocator(ProtobufCAllocator *a, const gg_mem *mem);

#endif
