"""What a GAN is used for, built on the library's pieces; each application is a package with
`run(config, workdir)`, reached from the command line as a mode of gan_jax.main (main.MODES):
- augmentation/: the data-augmentation protocol (does a class-conditional GAN's data make a
  downstream classifier better?), its cells also run by the study engine;
- text/ (`--mode=lm`): the likelihood baseline of the text application, a language model that
  trains through the same loop as a GAN (gan_jax/train.py: one loop, one resume, one
  checkpoint path) and is sampled at temperatures.
"""
