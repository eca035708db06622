"""Identity swap in video (issue 32): the faceswap pipeline's steps (find, align, swap, blend back), shared by the
`swap` command and the Python API."""
