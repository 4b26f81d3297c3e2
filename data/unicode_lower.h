#pragma once
// Python's str.lower() of one character: torchtext's Field(lower=True) lower-cases every token
// with it, and with tokenize=list a token is one character.
#include <string>

namespace charnn {

// Usually one character; U+0130 (İ) gives two, "i" + U+0307, as in Python. The caller keeps
// such a result as one token, the way torchtext does.
std::u32string python_lower(char32_t c);

}  // namespace charnn
